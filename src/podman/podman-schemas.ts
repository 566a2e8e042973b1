import * as v from 'valibot';

/** podman's JSON output, validated at the edge. Loose: podman adds fields between versions. */
export const podPsSchema = v.array(
  v.looseObject({
    Id: v.string(),
    Name: v.string(),
    Status: v.string(),
    Created: v.string(),
    Labels: v.nullish(v.record(v.string(), v.string())),
    Containers: v.nullish(v.array(v.looseObject({ Id: v.string(), Names: v.string(), Status: v.string() }))),
  }),
);

export const versionSchema = v.looseObject({
  Client: v.looseObject({ Version: v.string() }),
});

export const containerPsSchema = v.array(
  v.looseObject({
    Id: v.string(),
    Names: v.nullish(v.array(v.string())),
    Pod: v.nullish(v.string()),
    PodName: v.nullish(v.string()),
    Created: v.nullish(v.number()),
    IsInfra: v.nullish(v.boolean()),
    ImageID: v.nullish(v.string()),
    State: v.string(),
    ExitCode: v.nullish(v.number()),
    StartedAt: v.nullish(v.number()),
    ExitedAt: v.nullish(v.number()),
    Labels: v.nullish(v.record(v.string(), v.string())),
  }),
);

/** `podman pod inspect --format '{{json .Labels}}'`: null for a pod without labels. */
export const podLabelsSchema = v.nullable(v.record(v.string(), v.string()));

/** `podman secret ls --format '{{json .}}'`: one object a line, gathered into an array. */
export const secretLsSchema = v.array(v.looseObject({ ID: v.string(), Name: v.string() }));

/** `podman inspect` of one container: an array of one object on every version. */
export const containerInspectSchema = v.pipe(
  v.array(
    v.looseObject({
      State: v.looseObject({
        OOMKilled: v.nullish(v.boolean()),
        ExitCode: v.nullish(v.number()),
        FinishedAt: v.nullish(v.string()),
      }),
      NetworkSettings: v.nullish(
        v.looseObject({
          IPAddress: v.nullish(v.string()),
          MacAddress: v.nullish(v.string()),
          Networks: v.nullish(
            v.record(
              v.string(),
              v.looseObject({ IPAddress: v.nullish(v.string()), MacAddress: v.nullish(v.string()) }),
            ),
          ),
        }),
      ),
    }),
  ),
  v.minLength(1),
);

/**
 * One `podman events --format json` line. 4.x: `Time` is an RFC 3339 string
 * and `ContainerExitCode` is absent when it is 0; 5.x: `time` is unix
 * seconds, `timeNano` is added and the exit code is always present.
 */
export const eventSchema = v.looseObject({
  ID: v.optional(v.string()),
  Name: v.optional(v.string()),
  Status: v.string(),
  Type: v.string(),
  Time: v.optional(v.union([v.string(), v.number()])),
  time: v.optional(v.number()),
  timeNano: v.optional(v.number()),
  ContainerExitCode: v.optional(v.number()),
  PodID: v.optional(v.string()),
  Attributes: v.nullish(v.record(v.string(), v.string())),
});
