import { gzipSync } from 'node:zlib';

/** A minimal ustar archive, written by hand: enough to stand in for `podman save` output in unit tests. */
export const makeTar = (entries: { name: string; content: string | Buffer }[]): Buffer => {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const body = Buffer.isBuffer(entry.content) ? entry.content : Buffer.from(entry.content);
    const header = Buffer.alloc(512);
    header.write(entry.name, 0, 100, 'utf8');
    header.write('0000644\0', 100);
    header.write('0000000\0', 108);
    header.write('0000000\0', 116);
    header.write(`${body.length.toString(8).padStart(11, '0')}\0`, 124);
    header.write('00000000000\0', 136);
    header.write('        ', 148);
    header.write('0', 156);
    header.write('ustar\0', 257);
    header.write('00', 263);
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    blocks.push(header, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
};

export const dockerArchive = (tags: string[]): Buffer =>
  makeTar([
    { name: 'abc/layer.tar', content: Buffer.alloc(3000, 1) },
    { name: 'config.json', content: '{}' },
    {
      name: 'manifest.json',
      content: JSON.stringify([{ Config: 'config.json', RepoTags: tags, Layers: ['abc/layer.tar'] }]),
    },
  ]);

export const ociArchive = (refs: string[]): Buffer =>
  makeTar([
    { name: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' },
    { name: 'blobs/sha256/aa', content: Buffer.alloc(700, 2) },
    {
      name: 'index.json',
      content: JSON.stringify({
        schemaVersion: 2,
        manifests: refs.map((ref) => ({
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          annotations: { 'org.opencontainers.image.ref.name': ref },
        })),
      }),
    },
  ]);

export const gzip = (data: Buffer): Buffer => gzipSync(data);
