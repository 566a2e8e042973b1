/**
 * Pure checks on executable bytes, used by the build to verify what it made
 * (the arm64 binary cannot be run here without qemu) and by the tests.
 */

/** The fuse Node looks for to know a SEA blob was injected; postject flips `:0` to `:1`. */
export const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
/** The ELF note (and Mach-O section / PE resource) name Node reads the blob from. */
export const SEA_RESOURCE = 'NODE_SEA_BLOB';

const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);
const MACHINES: Record<number, string> = { 0x3e: 'x86-64', 0xb7: 'aarch64' };

/**
 * The `e_machine` of a 64-bit little-endian ELF image as a Debian-ish name
 * (`x86-64`, `aarch64`), `machine-0x..` for others. Throws on anything else.
 */
export const elfMachine = (bytes: Buffer): string => {
  if (bytes.length < 20 || !bytes.subarray(0, 4).equals(ELF_MAGIC)) throw new Error('not an ELF file');
  if (bytes[4] !== 2 || bytes[5] !== 1) throw new Error('not a 64-bit little-endian ELF file');
  const machine = bytes.readUInt16LE(18);
  return MACHINES[machine] ?? `machine-0x${machine.toString(16)}`;
};

/**
 * State of the SEA fuse: 'injected' (`:1`), 'empty' (`:0`, a plain node) or
 * 'absent'. Exactly one occurrence is expected, as postject itself requires.
 */
export const seaFuseState = (bytes: Buffer): 'injected' | 'empty' | 'absent' => {
  const at = bytes.indexOf(SEA_FUSE);
  if (at === -1) return 'absent';
  if (bytes.indexOf(SEA_FUSE, at + 1) !== -1) throw new Error(`the fuse ${SEA_FUSE} occurs more than once`);
  const state = bytes.subarray(at + SEA_FUSE.length, at + SEA_FUSE.length + 2).toString('latin1');
  if (state === ':1') return 'injected';
  if (state === ':0') return 'empty';
  throw new Error(`unexpected fuse value ${JSON.stringify(state)}`);
};
