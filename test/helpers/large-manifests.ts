/**
 * Manifests of the sizes that stalled the daemon (issue 12): a ConfigMap of
 * many short keys (`k123: v123`, about 20 bytes a line) and a Pod in the
 * same file, so the ConfigMap is played with the Pod.
 */
export const largeConfigMapManifest = (keys: number, options: { name?: string; image?: string } = {}): string => {
  const name = options.name ?? 'big';
  const lines = ['apiVersion: v1', 'kind: ConfigMap', 'metadata:', `  name: ${name}-data`, 'data:'];
  for (let index = 0; index < keys; index += 1) lines.push(`  k${index}: v${index}`);
  return [
    ...lines,
    '---',
    'apiVersion: v1',
    'kind: Pod',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    '  containers:',
    '    - name: main',
    `      image: ${options.image ?? 'localhost/absent:1'}`,
    '',
  ].join('\n');
};
