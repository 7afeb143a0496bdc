import { configureLogging } from '../config/logger.ts';

// Tests exercise failures on purpose; their expected warnings would bury the report.
// A test that inspects logs configures logging itself.
configureLogging({ level: 'error' });
