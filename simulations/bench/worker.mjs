// tsx cannot start a .ts worker directly ("Unknown file extension .ts"); this bootstrap
// registers tsx's loader inside the worker first, then loads the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
