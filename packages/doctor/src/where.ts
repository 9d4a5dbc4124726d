// How a report names the place it read.
import type { LiveSchema } from './live-schema';

export function describePlace(live: LiveSchema): string {
  switch (live.dialect) {
    case 'sqlite':
      return 'the SQLite database';
    case 'pg':
      return `schema "${live.schema}"`;
    case 'mysql':
      return `database "${live.schema}"`;
  }
}
