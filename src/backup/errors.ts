// The errors of backups. A failed backup exits 1; asking for a backup that is not there, or for a restore
// the tool refuses, is a usage error (exit 2), thrown as UsageError or NotFoundError.
import { SingularityError } from '../core/errors.js';

/** A backup, verification or restore that was attempted and failed. */
export class BackupError extends SingularityError {}
