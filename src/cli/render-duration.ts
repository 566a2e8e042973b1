/**
 * Durations and times the way kubectl prints them. `humanDuration` follows
 * k8s.io/apimachinery's `duration.HumanDuration`: "45s", "3m20s", "3m",
 * "5h12m", "2d4h", "400d", "2y30d".
 */
export const humanDuration = (ms: number): string => {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) {
    const rest = seconds % 60;
    return rest === 0 ? `${minutes}m` : `${minutes}m${rest}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) {
    const rest = minutes % 60;
    return rest === 0 ? `${hours}h` : `${hours}h${rest}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const rest = hours % 24;
    return rest === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${rest}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  const years = Math.floor(hours / 24 / 365);
  if (years < 8) {
    const days = Math.floor(hours / 24) % 365;
    return days === 0 ? `${years}y` : `${years}y${days}d`;
  }
  return `${years}y`;
};

/** "3m ago" (or "in 40s" for a time still to come). */
export const relative = (at: number, now: number): string =>
  at > now + 999 ? `in ${humanDuration(at - now)}` : `${humanDuration(now - at)} ago`;

/** `2026-11-28 04:56:45`, in local time or UTC. */
export const formatTimestamp = (ms: number, timeZone: 'local' | 'UTC' = 'local'): string => {
  const date = new Date(ms);
  const utc = timeZone === 'UTC';
  const two = (value: number): string => String(value).padStart(2, '0');
  const parts = utc
    ? [
        date.getUTCFullYear(),
        date.getUTCMonth() + 1,
        date.getUTCDate(),
        date.getUTCHours(),
        date.getUTCMinutes(),
        date.getUTCSeconds(),
      ]
    : [date.getFullYear(), date.getMonth() + 1, date.getDate(), date.getHours(), date.getMinutes(), date.getSeconds()];
  const [year, month, day, hour, minute, second] = parts as [number, number, number, number, number, number];
  return `${year}-${two(month)}-${two(day)} ${two(hour)}:${two(minute)}:${two(second)}`;
};
