/**
 * Operator-facing text in zh-CN (default) and English. Logs stay English and structured;
 * what an officer or custodian reads on screen comes from here.
 */

export type Locale = 'zh-CN' | 'en';

const messages = {
  'config.invalid': { 'zh-CN': '配置无效：', en: 'Invalid configuration:' },
  'stack.unmanaged': { 'zh-CN': '本机不管理服务（stack.managed=false），使用配置中的 Redis、PostgreSQL 和 MinIO', en: 'This workstation does not manage the stack (stack.managed=false); using the configured Redis, PostgreSQL and MinIO' },
  'stack.failed': { 'zh-CN': '本地服务启动失败', en: 'The local stack failed' },
  'dock.docked': { 'zh-CN': '已接入执法记录仪 {serial}：{files} 个文件，{size}', en: 'Recorder {serial} docked: {files} files, {size}' },
  'dock.unregistered': { 'zh-CN': '注意：记录仪 {serial} 未登记，照常采集并标记为“未登记”', en: 'Note: recorder {serial} is not registered; ingesting anyway, flagged "unregistered"' },
  'dock.gaps': { 'zh-CN': '注意：发现 {count} 处文件缺失或异常（已记入监管链）', en: 'Note: {count} missing-file gaps found (recorded in the custody ledger)' },
  'dock.skipped': { 'zh-CN': '已跳过 {count} 个非录像条目（链接、设备文件等）', en: 'Skipped {count} entries that are not recordings (links, device files, …)' },
  'dock.safe': { 'zh-CN': '全部文件已复制到本机，可以拔出记录仪', en: 'All files copied to this workstation: safe to undock' },
  'dock.done': { 'zh-CN': '接入会话完成：{stored} 个已存证，{dup} 个重复，{failed} 个失败，{cleared} 个已从记录仪清除', en: 'Session complete: {stored} stored, {dup} duplicates, {failed} failed, {cleared} cleared from the recorder' },
  'dock.interrupted': { 'zh-CN': '记录仪在复制中被拔出：{count} 个文件未完成，重新接入后将从断点继续', en: 'Recorder unplugged mid-copy: {count} files unfinished; they resume from where they stopped at the next docking' },
  'dock.waiting_daemon': { 'zh-CN': '已交给后台服务处理（会话 {session}）', en: 'Handed to the running daemon (session {session})' },
  'progress.acquire': { 'zh-CN': '复制', en: 'copy' },
  'progress.store': { 'zh-CN': '存储', en: 'store' },
  'progress.total': { 'zh-CN': '总计', en: 'total' },
  'file.status.cleared': { 'zh-CN': '已存证并清除', en: 'stored, cleared' },
  'file.status.kept': { 'zh-CN': '已存证（保留在记录仪）', en: 'stored, kept on recorder' },
  'file.status.failed': { 'zh-CN': '失败', en: 'failed' },
  'file.status.skipped': { 'zh-CN': '跳过', en: 'skipped' },
  'file.status.interrupted': { 'zh-CN': '中断', en: 'interrupted' },
  'file.status.superseded': { 'zh-CN': '已由后续接入接管', en: 'taken over by a later docking' },
  'file.status.pending': { 'zh-CN': '处理中', en: 'in progress' },
  'file.duplicate': { 'zh-CN': '（重复，未再次存储）', en: ' (duplicate, not stored again)' },
  'file.handled_by': { 'zh-CN': '（由接入 {session} 采集）', en: '(ingested by docking {session})' },
  'search.none': { 'zh-CN': '没有符合条件的证据', en: 'No evidence matches' },
  'search.header': { 'zh-CN': '证据编号  案件编号  采集人  采集时间  文件', en: 'evidence  case  collector  captured  file' },
  'show.notfound': { 'zh-CN': '找不到证据 {id}', en: 'No evidence {id}' },
  'show.ambiguous': { 'zh-CN': '编号 {id} 不唯一，请输入更长的编号', en: 'Id {id} is ambiguous; give more characters' },
  'tag.done': { 'zh-CN': '已更新 {id} 的标注（监管链事件 #{seq}）', en: 'Tags of {id} updated (custody event #{seq})' },
  'tag.nothing': { 'zh-CN': '未指定要修改的字段（--case、--subject、--place 或 --officer）', en: 'Nothing to change: give --case, --subject, --place or --officer' },
  'verify.ok': {
    'zh-CN': '校验通过：{events} 条监管链事件（默克尔树 {treeSize} 个叶子，{checkpoints} 个签名检查点），{items} 件证据，未发现篡改',
    en: 'Verified: {events} custody events (Merkle tree of {treeSize} leaves, {checkpoints} signed checkpoints), {items} evidence items, no tampering found',
  },
  'verify.failed': { 'zh-CN': '校验失败：发现 {count} 个问题', en: 'Verification FAILED: {count} problems' },
  'reindex.progress': { 'zh-CN': '从存储重建目录：{phase} {done}/{total}', en: 'Rebuilding the catalog from storage: {phase} {done}/{total}' },
  'reindex.done': {
    'zh-CN': '目录已从存储重建：{events} 条监管链事件，{items} 件证据，{documents} 份文书，{cases} 个案件，{records} 条调阅记录（{seconds} 秒）',
    en: 'Catalog rebuilt from storage: {events} custody events, {items} evidence items, {documents} documents, {cases} cases, {records} access records ({seconds} s)',
  },
  'reindex.users': {
    'zh-CN': '用户已恢复但没有密码（密码从不写入监管链）：请管理员用 evidock user passwd 为每个用户重设密码',
    en: 'Users are restored without passwords (no password is ever in the ledger): an administrator sets each one again with evidock user passwd',
  },
  'reindex.missing': { 'zh-CN': '警告：{count} 件证据的原件不在存储中（且未经批准销毁）：', en: 'WARNING: {count} items have no original in storage (and no approved purge):' },
  'reindex.sealsWithoutRecords': {
    'zh-CN': '注意：{count} 批调阅记录的原文不在存储中（早于此功能或存储当时不可用），其签名摘要仍在监管链中',
    en: 'Note: {count} sealed batches of access records are not in storage (older than this feature, or storage was away); their signed digests are in the ledger',
  },
  'reindex.skipped': { 'zh-CN': '注意：{count} 条事件无法应用到目录（详见 --json）', en: 'Note: {count} events could not be applied to the catalog (see --json)' },
  'reindex.refused': { 'zh-CN': '未重建目录：{detail}', en: 'Catalog not rebuilt: {detail}' },
  'verify.progress': { 'zh-CN': '校验并重新计算哈希：{done}/{total} 件证据', en: 'Verifying and re-hashing: {done}/{total} evidence items' },
  'fixity.cycle': { 'zh-CN': '定期完整性检查 第 {id} 周期：已检查 {checked}/{total} 件（{bytes} / {totalBytes}），{failed} 件未通过', en: 'Fixity cycle {id}: {checked}/{total} items checked ({bytes} of {totalBytes}), {failed} failed' },
  'fixity.times': { 'zh-CN': '  开始 {started}，预计结束 {end}，期限 {due}', en: '  started {started}, expected to end {end}, due {due}' },
  'fixity.unknownEnd': { 'zh-CN': '（尚无法估计）', en: '(not known yet)' },
  'fixity.overdue': { 'zh-CN': '  注意：按目前速度本周期不能在期限内完成（可提高 fixity.bytesPerSecond 或增加工作主机）', en: '  Note: at this rate the cycle does not end by its due date (raise fixity.bytesPerSecond or add worker hosts)' },
  'fixity.noCycle': { 'zh-CN': '定期完整性检查：当前没有进行中的周期，下一周期开始于 {next}', en: 'Fixity: no cycle running; the next starts {next}' },
  'fixity.last': { 'zh-CN': '上一周期 第 {id} 周期：{items} 件，完成于 {finished}；监管链与只写一次副本：{ledger}', en: 'Last cycle {id}: {items} items, completed {finished}; ledger and write-once mirror: {ledger}' },
  'fixity.ledgerOk': { 'zh-CN': '完好', en: 'intact' },
  'fixity.ledgerFailed': { 'zh-CN': '发现 {count} 个问题', en: '{count} problems' },
  'fixity.oldest': { 'zh-CN': '最早的一次检查：{at}（{id}）；从未检查：{never} 件', en: 'Oldest check: {at} ({id}); never checked: {never} items' },
  'fixity.oldestNone': { 'zh-CN': '尚无检查记录；从未检查：{never} 件', en: 'No check yet; never checked: {never} items' },
  'fixity.failures': { 'zh-CN': '完整性检查未通过：{count} 件', en: 'Fixity check FAILED: {count} items' },
  'fixity.noFailures': { 'zh-CN': '没有未通过完整性检查的证据', en: 'No item failed its fixity check' },
  'error.unavailable': { 'zh-CN': '{service} 无法连接；数据保留在本机缓存中，服务恢复后自动继续', en: '{service} is unreachable; data stays in the local spool and resumes when it returns' },
  'error.generic': { 'zh-CN': '错误：{message}', en: 'Error: {message}' },
  'import.notdir': { 'zh-CN': '不是目录：{path}', en: 'Not a directory: {path}' },
  'daemon.started': { 'zh-CN': '后台服务已启动（工作站 {ws}），正在监视 {roots}', en: 'Daemon started (workstation {ws}), watching {roots}' },
  'workers.started': { 'zh-CN': '工作进程已启动（{ws}），处理队列：{queues}', en: 'Workers started ({ws}), serving queues: {queues}' },
  'serve.started': { 'zh-CN': '证据档案服务已启动：{url}（接口文档 {url}/api/v1/openapi.json）', en: 'Archive server listening on {url} (API document {url}/api/v1/openapi.json)' },
  'serve.stopping': { 'zh-CN': '证据档案服务正在停止，等待进行中的请求完成', en: 'Archive server stopping; letting requests in flight finish' },
  'admin.unitAdded': { 'zh-CN': '已添加单位 {id}（{name}）', en: 'Unit {id} ({name}) added' },
  'admin.userAdded': { 'zh-CN': '已添加用户 {name}（{role}），首次登录须修改密码', en: 'User {name} ({role}) added; the password must be changed at first login' },
  'admin.userChanged': { 'zh-CN': '已更新用户 {name}', en: 'User {name} changed' },
  'admin.keyCreated': { 'zh-CN': 'API 密钥 {id} 已创建。密钥只显示这一次，请妥善保存：', en: 'API key {id} created. The key is shown this once; keep it safe:' },
  'admin.keyRevoked': { 'zh-CN': '已吊销 API 密钥 {id}', en: 'API key {id} revoked' },
  'admin.recorderAdded': { 'zh-CN': '已登记记录仪 {serial}', en: 'Recorder {serial} registered' },
  'admin.recorderRemoved': { 'zh-CN': '已注销记录仪 {serial}', en: 'Recorder {serial} taken off the registry' },
  'admin.refused': { 'zh-CN': '未执行：{message}', en: 'Not done: {message}' },
  'daemon.undocked': { 'zh-CN': '记录仪已拔出：{mount}', en: 'Recorder removed: {mount}' },
  'derive.queued': { 'zh-CN': '已为 {count} 件证据重新排队生成元数据、播放副本和缩略图', en: 'Queued metadata, playback proxy and thumbnails for {count} evidence items' },
  'media.progress': { 'zh-CN': '转码 {job}：{percent}%（{speed}）', en: 'transcode {job}: {percent}% ({speed})' },
  'media.done': { 'zh-CN': '完成 {job}', en: 'done {job}' },
  'media.jobFailed': { 'zh-CN': '失败 {job}：{reason}', en: 'failed {job}: {reason}' },
  'media.unplayable': { 'zh-CN': '无法播放：{problem}', en: 'unplayable: {problem}' },
  'media.partial': { 'zh-CN': '部分可播放：{problem}', en: 'partially playable: {problem}' },
  'media.failed': { 'zh-CN': '处理失败：{problem}', en: 'processing failed: {problem}' },
  'field.evidenceId': { 'zh-CN': '证据编号', en: 'Evidence id' },
  'field.caseNumbers': { 'zh-CN': '案件编号', en: 'Case number(s)' },
  'field.captureTime': { 'zh-CN': '采集时间', en: 'Capture time' },
  'field.place': { 'zh-CN': '采集地点', en: 'Capture place' },
  'field.collector': { 'zh-CN': '采集人', en: 'Collector' },
  'field.subject': { 'zh-CN': '证明对象', en: 'Subject (what it proves)' },
  'field.recorder': { 'zh-CN': '记录仪', en: 'Recorder' },
  'field.original': { 'zh-CN': '原始文件', en: 'Original file' },
  'field.size': { 'zh-CN': '大小', en: 'Size' },
  'field.hashes': { 'zh-CN': '哈希', en: 'Hashes' },
  'field.stored': { 'zh-CN': '存储位置', en: 'Stored as' },
  'field.verified': { 'zh-CN': '校验入库时间', en: 'Verified in storage' },
  'field.transfer': { 'zh-CN': '移交时限', en: 'Transfer deadline' },
  'field.dockings': { 'zh-CN': '接入记录', en: 'Docked in' },
  'field.media': { 'zh-CN': '媒体信息', en: 'Media' },
  'field.flags': { 'zh-CN': '标记', en: 'Flags' },
  'field.derivatives': { 'zh-CN': '派生文件', en: 'Derivatives' },
  'field.custody': { 'zh-CN': '监管链', en: 'Chain of custody' },
  'field.missing': { 'zh-CN': '（缺失，待补录）', en: '(missing, to be filled in)' },
  'transfer.onTime': { 'zh-CN': '按时（入库用时 {delay}，时限 {deadline}）', en: 'on time ({delay} after recording; deadline {deadline})' },
  'transfer.late': { 'zh-CN': '超时（入库用时 {delay}，时限 {deadline}）', en: 'LATE ({delay} after recording; deadline {deadline})' },
  'media.pending': { 'zh-CN': '尚未处理（元数据、播放副本和缩略图由工作进程生成）', en: 'not processed yet (metadata, proxy and thumbnails come from the workers)' },
  'demo.media': { 'zh-CN': '生成元数据、播放副本和缩略图…', en: 'Making metadata, playback proxies and thumbnails…' },
  'demo.mediaTimeout': { 'zh-CN': '媒体处理未在限定时间内完成，后台工作进程会继续处理（evidock jobs 查看）', en: 'Media processing did not finish in time; the workers carry on (see evidock jobs)' },
  'report.title': { 'zh-CN': '执法音像记录统计 {period}（按{by}）', en: 'Enforcement recording statistics {period} (by {by})' },
  'report.by.officer': { 'zh-CN': '采集人', en: 'officer' },
  'report.by.unit': { 'zh-CN': '单位', en: 'unit' },
  'report.by.recorder': { 'zh-CN': '记录仪', en: 'recorder' },
  'report.col.group': { 'zh-CN': '分组', en: 'group' },
  'report.col.items': { 'zh-CN': '证据数', en: 'items' },
  'report.col.hours': { 'zh-CN': '时长(时)', en: 'hours' },
  'report.col.onTime': { 'zh-CN': '按时率', en: 'on time' },
  'report.col.late': { 'zh-CN': '超时', en: 'late' },
  'report.col.complete': { 'zh-CN': '五要素齐全', en: 'complete' },
  'report.col.missingCase': { 'zh-CN': '缺案号', en: 'no case' },
  'report.col.missingTime': { 'zh-CN': '缺时间', en: 'no time' },
  'report.col.missingPlace': { 'zh-CN': '缺地点', en: 'no place' },
  'report.col.missingCollector': { 'zh-CN': '缺采集人', en: 'no officer' },
  'report.col.missingSubject': { 'zh-CN': '缺证明对象', en: 'no subject' },
  'report.col.unregistered': { 'zh-CN': '未登记', en: 'unregistered' },
  'report.col.unplayable': { 'zh-CN': '无法播放', en: 'unplayable' },
  'report.total': { 'zh-CN': '合计', en: 'total' },
  'report.none': { 'zh-CN': '（无）', en: '(none)' },
  'report.empty': { 'zh-CN': '该期间没有证据', en: 'No evidence in this period' },
  'report.notes': { 'zh-CN': '期间按采集时间计（无采集时间的按入库时间），时区 {zone}；按时率只计有时限判定的证据；时长不含未读出时长的 {unknown} 件', en: 'Items count by capture time (storage time when unknown), time zone {zone}; on-time rate over items with a deadline verdict; hours leave out {unknown} items of unknown duration' },
  'report.doc.title': { 'zh-CN': '执法音像记录统计报表', en: 'Enforcement audio and video recording statistics' },
  'report.doc.period': { 'zh-CN': '统计期间：{label}（{from} 至 {to}）', en: 'Period: {label} ({from} to {to})' },
  'report.doc.grouping': { 'zh-CN': '统计口径：按{by}', en: 'Grouped by {by}' },
  'report.doc.generated': { 'zh-CN': '生成时间：{at}', en: 'Generated {at}' },
  'report.doc.page': { 'zh-CN': '第 {page} 页 共 {pages} 页', en: 'Page {page} of {pages}' },
  'report.doc.figures': { 'zh-CN': '统计数据', en: 'Figures' },
  'report.doc.charts': { 'zh-CN': '统计图', en: 'Charts' },
  'report.doc.top': { 'zh-CN': '图中只列证据数最多的 {n} 个分组，表中列全部 {all} 个', en: 'The charts show the {n} groups with the most items; the table lists all {all}' },
  'report.col.onTimePct': { 'zh-CN': '按时率(%)', en: 'on time (%)' },
  'report.col.completePct': { 'zh-CN': '齐全率(%)', en: 'complete (%)' },
  'report.chart.items': { 'zh-CN': '各{by}证据数', en: 'Items per {by}' },
  'report.chart.onTime': { 'zh-CN': '各{by}按时移交率', en: 'On-time transfer rate per {by}' },
  'report.chart.month': { 'zh-CN': '逐月证据数与超时数', en: 'Items and late transfers by month' },
  'report.chart.week': { 'zh-CN': '逐周证据数与超时数（自周一起）', en: 'Items and late transfers by week (from Monday)' },
  'report.needs.bureau': { 'zh-CN': '报表需要执法机关名称：请在配置中设置 reports.bureauName', en: 'The report needs the bureau name: set reports.bureauName in the configuration' },
  'report.needs.out': { 'zh-CN': '--format pdf 需要 --out 文件', en: '--format pdf needs --out FILE' },
  'report.needs.oneFormat': { 'zh-CN': '--json 与 --format 只能选一个', en: 'give --json or --format, not both' },
  'report.font.missing': { 'zh-CN': '无法读取中文字体 {file}（{detail}）：请安装 fonts-noto-cjk 或设置 reports.fontFile', en: 'Cannot read the CJK font {file} ({detail}): install fonts-noto-cjk or set reports.fontFile' },
  'report.out.failed': { 'zh-CN': '无法写入 {file}：{detail}', en: 'Cannot write {file}: {detail}' },
  'report.written': { 'zh-CN': '报表已写入 {file}', en: 'Report written to {file}' },
  'export.done': { 'zh-CN': '已导出案件 {case}：{items} 件原始证据，{documents} 件文书，{proxies} 个播放副本 → {dir}（BagIt 证据包，已记入监管链）', en: 'Exported case {case}: {items} originals, {documents} documents, {proxies} playback proxies → {dir} (a BagIt bag, recorded in the custody ledger)' },
  'retention.row': { 'zh-CN': '{id}  {class}  保管至 {until}{hold}', en: '{id}  {class}  kept until {until}{hold}' },
  'retention.class.unlinked': { 'zh-CN': '未关联案件', en: 'unlinked' },
  'retention.class.case': { 'zh-CN': '案件', en: 'case' },
  'retention.class.major-case': { 'zh-CN': '重大案件（永久）', en: 'major case (permanent)' },
  'retention.held': { 'zh-CN': '  已冻结', en: '  on legal hold' },
  'hold.set': { 'zh-CN': '已冻结证据 {id}：到期也不得销毁（已记入监管链）', en: 'Legal hold set on {id}: it cannot be purged (recorded in the custody ledger)' },
  'hold.released': { 'zh-CN': '已解除证据 {id} 的冻结（已记入监管链）', en: 'Legal hold released on {id} (recorded in the custody ledger)' },
  'purge.proposed': { 'zh-CN': '已提出销毁批次 {run}：{items} 件保管期限届满的记录，须由另一名证据管理员批准', en: 'Purge run {run} proposed: {items} expired records; another custodian must approve it' },
  'purge.approved': { 'zh-CN': '已批准销毁批次 {run}（{items} 件），执行：evidock purge run {run}', en: 'Purge run {run} approved ({items} records); run it with evidock purge run {run}' },
  'purge.refused': { 'zh-CN': '已驳回销毁批次 {run}', en: 'Purge run {run} refused' },
  'purge.done': { 'zh-CN': '销毁批次 {run}：已销毁 {purged} 件，未予销毁 {skipped} 件，失败 {failed} 件（逐件记入监管链，目录保留销毁记录）', en: 'Purge run {run}: {purged} purged, {skipped} kept, {failed} failed (each recorded in the custody ledger; the catalog keeps a tombstone)' },
  'purge.why.held': { 'zh-CN': '已冻结', en: 'on legal hold' },
  'purge.why.not-expired': { 'zh-CN': '保管期限未满', en: 'retention not over' },
  'purge.why.in-unarchived-case': { 'zh-CN': '所属案件尚未归档', en: 'its case is not archived' },
  'purge.why.already-purged': { 'zh-CN': '已销毁', en: 'already purged' },
  'case.ended': { 'zh-CN': '已登记案件 {case} 执法结束：须在 {days} 日内归档（evidock case archive）', en: 'Case {case} ended: archive it within {days} days (evidock case archive)' },
  'case.archived': { 'zh-CN': '案件 {case} 已归档：{items} 件记录，证据包 {key}（{size}）已存入一次写入存储', en: 'Case {case} archived: {items} records, package {key} ({size}) in write-once storage' },
  'case.major': { 'zh-CN': '案件 {case} 已标记为重大案件：{items} 件记录永久保管', en: 'Case {case} marked major: {items} records kept permanently' },
  'case.held': { 'zh-CN': '已冻结案件 {case} 的 {items} 件记录（含今后关联的记录）', en: 'Legal hold set on case {case}: {items} records (and any linked later)' },
  'case.holdReleased': { 'zh-CN': '已解除案件 {case} 的冻结（{items} 件记录）', en: 'Legal hold released on case {case} ({items} records)' },
  'overdue.cases': { 'zh-CN': '已结束未归档的案件：{count} 件（须在结束后 {days} 日内归档）', en: 'Cases ended but not archived: {count} (due within {days} days of the end)' },
  'overdue.left': { 'zh-CN': '剩 {days} 天', en: '{days} days left' },
  'overdue.pastDue': { 'zh-CN': '已超期 {days} 天', en: '{days} days PAST DUE' },
  'overdue.fields': { 'zh-CN': '采集 {days} 日后仍缺必填要素的记录（按采集人）：', en: 'Records still missing a required field {days} days after capture, per officer:' },
  'overdue.noOfficer': { 'zh-CN': '（未知采集人）', en: '(no officer)' },
  'overdue.fieldsByUnit': { 'zh-CN': '按单位（由其证据管理员督办）：', en: 'Per unit (its custodians see to it):' },
  'overdue.noUnit': { 'zh-CN': '（未分配单位）', en: '(no unit)' },
  'redact.badSpec': { 'zh-CN': '无法读取脱敏方案文件 {file}：{message}', en: 'Cannot read the redaction spec {file}: {message}' },
  'redact.saved': { 'zh-CN': '已保存脱敏方案 {project} 第 {version} 版（监管链事件 #{seq}），原始录像未作任何改动', en: 'Redaction project {project} version {version} saved (custody event #{seq}); the original is untouched' },
  'redact.none': { 'zh-CN': '该证据没有脱敏方案', en: 'No redaction projects on this item' },
  'redact.project': { 'zh-CN': '脱敏方案 {project}（{by} 创建于 {at}）', en: 'Redaction project {project} (created by {by}, {at})' },
  'redact.version': { 'zh-CN': '  第 {version} 版  {at}  {author}  遮挡框 {boxes} 个 · 画面模糊 {blur} 段 · 声音处理 {audio} 段  {state}', en: '  version {version}  {at}  {author}  {boxes} boxes · {blur} blur ranges · {audio} audio ranges  {state}' },
  'redact.state.rendered': { 'zh-CN': '已生成脱敏副本', en: 'redacted copy made' },
  'redact.state.queued': { 'zh-CN': '等待生成', en: 'waiting to render' },
  'redact.state.running': { 'zh-CN': '正在生成', en: 'rendering' },
  'redact.state.failed': { 'zh-CN': '生成失败', en: 'render failed' },
  'redact.state.none': { 'zh-CN': '未生成', en: 'not rendered' },
  'redact.queued': { 'zh-CN': '已提交生成脱敏副本：方案 {project} 第 {version} 版', en: 'Render queued: project {project} version {version}' },
  'redact.rendered': { 'zh-CN': '脱敏副本已生成（方案 {project} 第 {version} 版）：{key}，SHA-256 {sha256}，{size}', en: 'Redacted copy made (project {project} version {version}): {key}, SHA-256 {sha256}, {size}' },
  'redact.failed': { 'zh-CN': '脱敏副本生成失败：{reason}', en: 'The redacted copy was not made: {reason}' },
  'redact.suggestQueued': { 'zh-CN': '已提交人脸遮挡建议任务 {run}，完成后在网页脱敏编辑器中逐条采纳或驳回', en: 'Face suggestions queued (run {run}); accept or reject each in the web redaction editor once made' },
  'redact.suggestProgress': { 'zh-CN': '人脸检测进行中：{percent}%', en: 'Face detection: {percent}%' },
  'redact.suggested': { 'zh-CN': '已生成 {count} 条人脸遮挡建议（抽取 {frames} 帧，每秒 {fps} 帧，模型 {model}；运行 {run}），已记入监管链；请在网页脱敏编辑器中逐条采纳或驳回', en: '{count} face suggestions made ({frames} frames sampled at {fps} a second, model {model}; run {run}), recorded in the custody ledger; accept or reject each in the web redaction editor' },
  'redact.suggestWarning': { 'zh-CN': '注意：{warning}', en: 'Note: {warning}' },
  'redact.suggestSkipped': { 'zh-CN': '未生成人脸遮挡建议：{warning}', en: 'No face suggestions: {warning}' },
  'redact.suggestFailed': { 'zh-CN': '人脸遮挡建议生成失败：{reason}', en: 'Face suggestions failed: {reason}' },
  'verify.purged': { 'zh-CN': '其中 {count} 件已按批准的销毁批次到期销毁（非缺失）', en: 'Of these, {count} were purged by an approved run after their retention (not missing)' },
  'package.ok': { 'zh-CN': '证据包校验通过：案件 {case}，{items} 件证据，{documents} 件文书，{events} 条监管链事件，签名密钥 {key}', en: 'Package verified: case {case}, {items} evidence items, {documents} documents, {events} custody events, signed by key {key}' },
  'package.failed': { 'zh-CN': '证据包校验失败：发现 {count} 个问题', en: 'Package verification FAILED: {count} problems' },
  'package.unreadable': { 'zh-CN': '无法读取证据包 {path}：{detail}', en: 'Cannot read the package {path}: {detail}' },
  'package.problem.not-a-bag': { 'zh-CN': '不是 BagIt 证据包或导出未完成', en: 'not a BagIt bag, or an unfinished export' },
  'package.problem.bad-format': { 'zh-CN': '格式错误', en: 'malformed' },
  'package.problem.missing-file': { 'zh-CN': '文件缺失', en: 'file missing' },
  'package.problem.unlisted-file': { 'zh-CN': '多出的文件（导出后添加）', en: 'file added after export' },
  'package.problem.checksum-mismatch': { 'zh-CN': '文件被修改（哈希不符）', en: 'file changed (checksum mismatch)' },
  'package.problem.oxum-mismatch': { 'zh-CN': '内容总量与登记不符', en: 'payload size or count differs' },
  'package.problem.bad-package-signature': { 'zh-CN': '证据包签名无效', en: 'package signature invalid' },
  'package.problem.untrusted-key': { 'zh-CN': '签名密钥不在信任列表中', en: 'signed by an untrusted key' },
  'package.problem.custody-event': { 'zh-CN': '监管链事件无效', en: 'custody event invalid' },
  'package.problem.custody-count': { 'zh-CN': '监管链事件被删除或添加', en: 'custody events removed or added' },
  'package.problem.custody-proof': { 'zh-CN': '监管链事件不在签名的账本检查点中（包含证明不成立）', en: 'custody event not proven in the signed ledger checkpoint (inclusion proof fails)' },
  'package.problem.record-mismatch': { 'zh-CN': '记录与文件不一致', en: 'record and file disagree' },
  'export.watermarked': { 'zh-CN': '其中 {count} 个播放副本加了水印（提供给 {recipient}），原始证据无水印', en: '{count} of the proxies watermarked for {recipient}; the originals carry no watermark' },
  'share.created': { 'zh-CN': '已创建共享 {id}：{items} 件记录提供给 {recipient}（{mode}），有效期至 {expires}', en: 'Share {id} created: {items} records for {recipient} ({mode}) until {expires}' },
  'share.link': { 'zh-CN': '链接（仅显示这一次，请妥善转交）：{link}', en: 'Link (shown this once only; hand it over safely): {link}' },
  'share.mode.view': { 'zh-CN': '仅在线查看', en: 'view only' },
  'share.mode.download': { 'zh-CN': '可下载', en: 'download' },
  'share.state.active': { 'zh-CN': '有效', en: 'active' },
  'share.state.expired': { 'zh-CN': '已过期', en: 'expired' },
  'share.state.revoked': { 'zh-CN': '已撤销', en: 'revoked' },
  'share.none': { 'zh-CN': '没有共享链接', en: 'No shares' },
  'share.revoked': { 'zh-CN': '已撤销共享 {id}：链接从现在起失效（已记入监管链）', en: 'Share {id} revoked: its link no longer opens (recorded in the custody ledger)' },
  'share.receipt': { 'zh-CN': '共享回执已写入 {file}', en: 'Share receipt written to {file}' },
  'share.receipt.format': { 'zh-CN': '回执文件须以 .pdf 或 .html 结尾', en: 'The receipt file must end in .pdf or .html' },
  'share.failed': { 'zh-CN': '未创建共享：{detail}', en: 'No share made: {detail}' },
  'disclose.done': { 'zh-CN': '已生成案件 {case} 的公示脱敏副本：{files} 个文件，写入 {dir}；已遮蔽 {masked} 处个人信息', en: 'De-identified copy of case {case} made: {files} files in {dir}; {masked} pieces of personal data masked' },
  'disclose.unredacted': { 'zh-CN': '注意：{count} 个文件没有遮蔽渲染，使用的是未经处理的播放副本，公开前须人工审查画面和声音', en: 'Note: {count} files have no redacted render and are the unprocessed playback proxy: review picture and sound before publication' },
  'disclose.manifest': { 'zh-CN': '清单 manifest-sha256.txt 的 SHA-256：{hash}（已记入监管链，接收方据此核对副本）', en: 'SHA-256 of manifest-sha256.txt: {hash} (recorded in the custody ledger; the recipient checks the copy against it)' },
  'disclose.withheld': { 'zh-CN': '{count} 件记录尚无可用副本，未包含在内', en: '{count} records have no copy yet and were left out' },
  'export.watermark': { 'zh-CN': '导出中止，未生成证据包：{detail}', en: 'Export stopped, no package made: {detail}' },
  'export.nocase': { 'zh-CN': '没有案件编号为 {case} 的证据', en: 'No evidence with case number {case}' },
  'export.notempty': { 'zh-CN': '导出目录不可用：{detail}', en: 'Cannot export there: {detail}' },
  'export.integrity': { 'zh-CN': '导出中止：存储中的文件与登记的哈希不符（{detail}），请运行 evidock verify', en: 'Export stopped: a stored file does not match its recorded hash ({detail}); run evidock verify' },
  'demo.generating': { 'zh-CN': '正在用 ffmpeg 生成模拟记录仪录像：{dir}', en: 'Generating a simulated recorder with ffmpeg: {dir}' },
  'demo.verify': { 'zh-CN': '校验存储与监管链…', en: 'Verifying storage and the custody ledger…' },
} as const satisfies Record<string, Record<Locale, string>>;

export type MessageKey = keyof typeof messages;

let current: Locale = 'zh-CN';

export function currentLocale(): Locale {
  return current;
}

export function setLocale(locale: Locale): void {
  current = locale;
}

export function t(key: MessageKey, params: Record<string, string | number> = {}, locale: Locale = current): string {
  const template: string = messages[key][locale];
  return template.replace(/\{(\w+)\}/g, (_m, name: string) => (name in params ? String(params[name]) : `{${name}}`));
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

/** Known tool messages about damaged media, in Chinese. Unknown ones are shown as the tool said. */
const PROBLEM_ZH: Array<[RegExp, string]> = [
  [/moov atom not found/i, '缺少 moov 索引（录制时可能断电，文件未正常结束）'],
  [/invalid data found when processing input/i, '文件数据无效，无法解析'],
  [/no audio or video stream/i, '文件中没有音视频流'],
  [/zero-length streams/i, '音视频流长度为零'],
  [/stream breaks off at ([\d.]+) s of ([\d.]+) s/i, '视频在 $1 秒处中断（共 $2 秒）'],
  [/decoding errors/i, '解码时出现错误'],
  [/corrupt|truncated|premature end/i, '文件损坏或不完整'],
];

/** "unplayable: moov atom not found" in the current locale, for CLI and reports. */
export function mediaProblemText(status: string, problem: string, locale: Locale = current): string {
  let text = problem;
  if (locale === 'zh-CN') {
    for (const [pattern, zh] of PROBLEM_ZH) {
      if (pattern.test(problem)) {
        text = problem.replace(new RegExp(`.*${pattern.source}.*`, 'i'), zh);
        break;
      }
    }
  }
  const key = status === 'partial' ? 'media.partial' : status === 'failed' ? 'media.failed' : 'media.unplayable';
  return t(key, { problem: text }, locale);
}

/** "3 h 12 min" / "3小时12分" for transfer delays. */
export function formatDuration(seconds: number, locale: Locale = current): string {
  const s = Math.max(0, Math.round(seconds));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const parts: string[] = [];
  if (locale === 'zh-CN') {
    if (d) parts.push(`${d}天`);
    if (h) parts.push(`${h}小时`);
    if (m || parts.length === 0) parts.push(`${m}分`);
    return parts.join('');
  }
  if (d) parts.push(`${d} d`);
  if (h) parts.push(`${h} h`);
  if (m || parts.length === 0) parts.push(`${m} min`);
  return parts.join(' ');
}

/** A wall-clock time in the bureau's zone, e.g. "2026-12-01 20:58:42 +08:00". */
export function formatLocalTime(at: Date, timeZone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23', timeZoneName: 'longOffset' })
      .formatToParts(at)
      .map((p) => [p.type, p.value]),
  );
  const offset = String(parts.timeZoneName ?? '').replace(/^GMT/, '') || '+00:00';
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second} ${offset}`;
}

/** Columns a terminal gives a string: CJK characters take two, so Chinese labels line up. */
export function displayWidth(text: string): number {
  let width = 0;
  for (const ch of text) width += /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/u.test(ch) ? 2 : 1;
  return width;
}

/** `text` cut or padded to exactly `width` columns; a cut keeps the end (file names differ there). */
export function fitColumns(text: string, width: number): string {
  if (displayWidth(text) <= width) return text + ' '.repeat(width - displayWidth(text));
  const chars = [...text];
  let kept = '';
  for (let i = chars.length - 1; i >= 0 && displayWidth(chars[i]! + kept) <= width - 1; i--) kept = chars[i]! + kept;
  return `…${kept}${' '.repeat(width - 1 - displayWidth(kept))}`;
}
