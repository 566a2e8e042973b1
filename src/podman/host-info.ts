import * as v from 'valibot';

/** What `podman info` says about the host, as far as `runner doctor` needs it. */
export interface PodmanHostInfo {
  version: string;
  /** `v1` or `v2`. */
  cgroupVersion: string;
  cgroupManager: string;
  /** The controllers podman can use (on cgroup v2: those delegated to it). */
  cgroupControllers: string[];
  ociRuntime: { name: string; path: string };
  /** `cni` or `netavark`. */
  networkBackend: string;
  /** `netavark 1.14.0` on podman 5.x; absent on 4.x, which does not report it. */
  networkBackendVersion?: string;
  graphRoot: string;
  rootless: boolean;
}

/**
 * `podman info --format json`, the fields read (4.3.1 seen, 5.4.2 by
 * source: libpod/define/info.go). Everything else is left alone.
 */
export const infoSchema = v.looseObject({
  host: v.looseObject({
    cgroupVersion: v.optional(v.string(), ''),
    cgroupManager: v.optional(v.string(), ''),
    cgroupControllers: v.optional(v.nullable(v.array(v.string())), []),
    networkBackend: v.optional(v.string(), ''),
    networkBackendInfo: v.optional(v.looseObject({ version: v.optional(v.string()) })),
    ociRuntime: v.optional(
      v.nullable(v.looseObject({ name: v.optional(v.string(), ''), path: v.optional(v.string(), '') })),
    ),
    security: v.optional(v.looseObject({ rootless: v.optional(v.boolean(), false) })),
  }),
  store: v.looseObject({ graphRoot: v.pipe(v.string(), v.nonEmpty()) }),
  version: v.optional(v.looseObject({ Version: v.optional(v.string(), '') })),
});

export const toHostInfo = (info: v.InferOutput<typeof infoSchema>): PodmanHostInfo => ({
  version: info.version?.Version ?? '',
  cgroupVersion: info.host.cgroupVersion,
  cgroupManager: info.host.cgroupManager,
  cgroupControllers: info.host.cgroupControllers ?? [],
  ociRuntime: { name: info.host.ociRuntime?.name ?? '', path: info.host.ociRuntime?.path ?? '' },
  networkBackend: info.host.networkBackend,
  ...(info.host.networkBackendInfo?.version ? { networkBackendVersion: info.host.networkBackendInfo.version } : {}),
  graphRoot: info.store.graphRoot,
  rootless: info.host.security?.rootless ?? false,
});
