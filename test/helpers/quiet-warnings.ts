import { installWarningFilter } from '../../src/runtime/warnings.ts';

installWarningFilter();
