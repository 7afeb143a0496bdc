// The usb-detection monitor, in a process of its own (forked by usb-events.adapter.ts).
// Its native thread makes a process that exits or crashes while it runs hang for good, and
// one that exits within ~100 ms of stopMonitoring abort (SIGABRT); measured with
// usb-detection 4.14.2 on Node 20. Out here it can do neither to the daemon: the daemon
// SIGKILLs this process when it closes, and the kernel does when the daemon dies.
// Plain JavaScript: it needs no TypeScript loader.
let detection = null;
try {
  const loaded = await import('usb-detection');
  detection = loaded.default ?? loaded;
  detection.startMonitoring();
} catch (error) {
  // The native monitor never started, so a normal exit is safe here.
  process.send?.({ kind: 'unavailable', message: error instanceof Error ? error.message : String(error) }, () => process.exit(0));
}

if (detection) {
  const forward = (kind) => (device) => process.send?.({ kind, device });
  detection.on('add', forward('add'));
  detection.on('remove', forward('remove'));
  process.send?.({ kind: 'ready' });
  // Without setpriv the parent's exit only shows as a closed IPC channel. SIGKILL, because a
  // normal exit is what hangs.
  process.on('disconnect', () => process.kill(process.pid, 'SIGKILL'));
}
