/**
 * ANSI colour for the status column. Colour only when writing to a terminal
 * and NO_COLOR (https://no-color.org) is unset or empty; callers decide once
 * with `shouldColour` and pass the answer down, so renderers stay pure.
 */
export const shouldColour = (stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean =>
  stream.isTTY === true && (env.NO_COLOR === undefined || env.NO_COLOR === '');

const GREEN = ['Running', 'Completed'];
const YELLOW = ['Pending', 'ContainerCreating', 'Terminating'];

export const colourStatus = (status: string, text: string, colour: boolean): string => {
  if (!colour) return text;
  const code = GREEN.includes(status) ? 32 : YELLOW.includes(status) ? 33 : 31;
  return `\u001b[${code}m${text}\u001b[0m`;
};

/** Clear the screen and move home, for `--watch`. */
export const CLEAR_SCREEN = '\u001b[H\u001b[2J';
