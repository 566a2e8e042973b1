/**
 * The shape of a command's definition (src/cli/commands.ts): its flags, its
 * positional arguments, its help text and where its handler lives. Parsing
 * (parse-flags.ts), help (help.ts), dispatch (run-main.ts) and the shell
 * completions (completion-*.ts) are all generated from it.
 */

/** One flag. Every command also gets `-h, --help`. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** The value's name in the help, e.g. FILE; string flags only. */
  value?: string;
  /** The help line, after the flag and its value. */
  help: string;
  /** What the shells complete the value with: a file, a directory or one of a list. */
  complete?: 'file' | 'dir' | readonly string[];
}

export type OptionTable = Readonly<Record<string, OptionSpec>>;

/** The flags as parsed: strings and booleans, absent when not given. */
export type FlagValues<O extends OptionTable> = { [K in keyof O]?: O[K]['type'] extends 'boolean' ? boolean : string };

export interface ParsedArgs<O extends OptionTable> {
  values: FlagValues<O>;
  positionals: string[];
}

export type Write = (text: string) => void;

/**
 * A command's handler, given the parsed and checked command line. `deps`
 * lets tests replace the clock, podman or the status reader. (Declared as a
 * method, so the table can hold handlers of different flags.)
 */
export type CommandHandler<O extends OptionTable, D> = {
  bivariant(args: ParsedArgs<O>, write: Write, deps?: D): Promise<number>;
}['bivariant'];

export interface PositionalSpec {
  /** How the help and the usage errors name it: POD, FILE or DIR. */
  name: string;
  min: number;
  max: number;
  /** What the shells complete it with: the pods of the status file, or files. */
  complete?: 'pod' | 'file';
}

export interface CommandSpec<O extends OptionTable = OptionTable, D = unknown> {
  name: string;
  /** Its line in `runner --help`: the synopsis, then the summary (continuation lines after a newline). */
  synopsis: string;
  summary: string;
  /** `runner COMMAND --help`: Usage line, description paragraphs, options heading, options, exit status. */
  usage: string;
  description: string;
  optionsHeading: string;
  options: O;
  positionals?: PositionalSpec;
  exitStatus?: string;
  /** Where the help text of the options starts (default 21). */
  helpColumn?: number;
  /** Left out of `runner --help` (the completion command). */
  hidden?: boolean;
  /** Loaded when the command runs, so one command does not evaluate the modules of another. */
  load: () => Promise<CommandHandler<O, D>>;
}

/** Keeps the literal flag names of `spec`, so its handler sees typed values. */
export const defineCommand = <const O extends OptionTable, D = unknown>(spec: CommandSpec<O, D>): CommandSpec<O, D> =>
  spec;

/** Keeps the literal names and types of a command's flags, for the handler's parsed values. */
export const flags = <const O extends OptionTable>(options: O): O => options;
