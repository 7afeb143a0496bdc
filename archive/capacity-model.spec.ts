import { describe, expect, it } from 'vitest';
import { capacityModel, CapacityInputError, EXAMPLE_INPUTS, figure, formatFigure, type CapacityInputs } from './capacity-model.ts';

// Small round inputs whose figures can be worked out by hand.
const inputs: CapacityInputs = {
  ...EXAMPLE_INPUTS,
  officers: 1000,
  hoursPerOfficerPerDay: 2,
  bitrateMbps: 8,
  retentionYears: 2,
  derivativesRatio: 0.25,
  erasureSetDrives: 16,
  parityDrives: 4,
  driveTB: 10,
  drivesPerNode: 8,
  maxFill: 0.8,
  segmentMinutes: 15,
  workstations: 100,
  peakHourShare: 0.25,
  transcodeRealtimePerCore: 2,
  transcodeUtilisation: 0.5,
  eventsPerFile: 6,
  jobsPerFile: 7,
  redisCommandsPerJob: 10,
  ledgerAppendsPerSecond: 100,
  catalogRowsPerFile: 2,
};

describe('capacityModel', () => {
  const f = capacityModel(inputs);

  it('turns hours and bitrate into terabytes a year', () => {
    expect(figure(f, 'hoursPerDay')).toBe(2000);
    // 8 Mb/s = 1 MB/s = 3.6 GB an hour; 2000 h a day for 365 days.
    expect(figure(f, 'originalsTBPerYear')).toBeCloseTo(2000 * 3.6e9 * 365 / 1e12, 9);
    expect(figure(f, 'storedTBPerYear')).toBeCloseTo(2628 * 1.25, 9);
  });

  it('sizes MinIO in whole erasure sets and at least four nodes', () => {
    expect(figure(f, 'erasureOverhead')).toBeCloseTo(16 / 12, 12);
    // 3285 TB/year × 2 years × 4/3 / 0.8 = 10950 TB raw → 1095 drives → 69 sets of 16 = 1104.
    expect(figure(f, 'rawTB')).toBeCloseTo(10950, 6);
    expect(figure(f, 'drives')).toBe(1104);
    expect(figure(f, 'nodes')).toBe(138);
    const tiny = capacityModel({ ...inputs, officers: 1 });
    expect(figure(tiny, 'drives')).toBe(16);
    expect(figure(tiny, 'nodes')).toBe(4);
  });

  it('counts transcode cores from the measured speed per core', () => {
    // 2000 h a day at 2× real time per core, half of each core's day: 2000 / (24 × 2 × 0.5).
    expect(figure(f, 'transcodeCores')).toBeCloseTo(2000 / 24, 9);
  });

  it('derives the control plane load at the docking peak', () => {
    expect(figure(f, 'filesPerDay')).toBe(8000);
    // A quarter of 8000 files in one hour: 2000 / 3600 files/s.
    expect(figure(f, 'peakEventsPerSecond')).toBeCloseTo((2000 / 3600) * 6, 9);
    expect(figure(f, 'ledgerHeadroom')).toBeCloseTo(100 / ((2000 / 3600) * 6), 9);
    expect(figure(f, 'redisCommandsPerSecond')).toBeCloseTo((2000 / 3600) * 70, 9);
    expect(figure(f, 'postgresRowsPerDay')).toBe(8000 * 8);
    // 500 h docked in the peak hour at 8 Mb/s over 100 workstations.
    expect(figure(f, 'workstationPeakMbps')).toBeCloseTo(40, 9);
  });

  it('lists every input problem at once and computes nothing', () => {
    const bad = { ...inputs, officers: -1, parityDrives: 16, maxFill: 1.5, hoursPerOfficerPerDay: 25 };
    let thrown: unknown;
    try {
      capacityModel(bad);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(CapacityInputError);
    const problems = (thrown as CapacityInputError).problems.join('\n');
    expect(problems).toMatch(/officers must be a finite number/);
    expect(problems).toMatch(/parityDrives \(16\) must be fewer/);
    expect(problems).toMatch(/maxFill must be in/);
    expect(problems).toMatch(/hoursPerOfficerPerDay must be ≤ 24/);
  });

  it('names a missing figure instead of answering undefined', () => {
    expect(() => figure(f, 'nope')).toThrow(/no figure nope/);
  });

  it('formats counts as whole numbers and large figures without decimals', () => {
    const drives = f.find((x) => x.key === 'drives')!;
    expect(formatFigure(drives)).toBe('1104');
    expect(formatFigure({ ...drives, key: 'rawTB', value: 10950.4 })).toBe('10,950');
    expect(formatFigure({ ...drives, key: 'x', value: 1.234 })).toBe('1.23');
    expect(formatFigure({ ...drives, key: 'x', value: Number.POSITIVE_INFINITY })).toBe('∞');
  });
});
