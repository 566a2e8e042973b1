/**
 * Orders strings by UTF-16 code units, as `sort()` does, for sorting in the
 * daemon. `localeCompare` would load ICU's collation data on first use: 3 MiB
 * more resident in a daemon that sorts its pod names every heartbeat
 * (measured with Node 24.21). The names are DNS-1123 labels and file paths,
 * which this orders the way `ls` does in the C locale.
 */
export const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
