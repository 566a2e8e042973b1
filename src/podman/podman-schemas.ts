import * as v from 'valibot';

/** podman's JSON output, validated at the edge. Loose: podman adds fields between versions. */
export const podPsSchema = v.array(
  v.looseObject({
    Id: v.string(),
    Name: v.string(),
    Status: v.string(),
    Created: v.string(),
    Labels: v.nullish(v.record(v.string(), v.string())),
    Containers: v.nullish(
      v.array(v.looseObject({ Id: v.string(), Names: v.string(), Status: v.string() })),
    ),
  }),
);

export const versionSchema = v.looseObject({
  Client: v.looseObject({ Version: v.string() }),
});
