import { installWarningFilter } from '../../src/observability/warnings.ts';

installWarningFilter();
