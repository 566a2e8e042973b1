/**
 * Keys that podman would read differently from the runner. podman decodes
 * Kubernetes YAML with go-yaml and Go's JSON decoding:
 * - go-yaml applies YAML merge keys (`<<`), which the runner reads as a plain
 *   key, so fields under one would reach podman without the policy seeing them;
 * - Go matches JSON field names case-insensitively (with Unicode folding:
 *   U+212A KELVIN SIGN is `k`, U+017F LONG S is `s`), so `Privileged` or
 *   `HostPath` sets the field that the policy reads as `privileged` or
 *   `hostPath`.
 * Both are refused, wherever they appear outside free-form maps (labels,
 * annotations, ConfigMap data, resource names, selectors).
 */

/** Field names of the Kubernetes kinds the runner plays (Pod, Deployment, ConfigMap, Secret, PVC) and the types they hold. */
const FIELDS = `
apiVersion kind metadata spec status data binaryData stringData immutable type
name namespace labels annotations generateName uid resourceVersion generation creationTimestamp deletionTimestamp
deletionGracePeriodSeconds ownerReferences finalizers managedFields selfLink
replicas selector template strategy minReadySeconds revisionHistoryLimit progressDeadlineSeconds paused matchLabels matchExpressions
rollingUpdate maxSurge maxUnavailable key operator values
volumes initContainers containers ephemeralContainers restartPolicy terminationGracePeriodSeconds activeDeadlineSeconds
dnsPolicy nodeSelector serviceAccountName serviceAccount automountServiceAccountToken nodeName hostNetwork hostPID hostIPC
shareProcessNamespace securityContext imagePullSecrets hostname subdomain affinity schedulerName tolerations hostAliases
priorityClassName priority dnsConfig readinessGates runtimeClassName enableServiceLinks preemptionPolicy overhead
topologySpreadConstraints setHostnameAsFQDN os hostUsers schedulingGates resourceClaims resources
image command args workingDir ports envFrom env volumeMounts volumeDevices livenessProbe readinessProbe startupProbe
lifecycle terminationMessagePath terminationMessagePolicy imagePullPolicy stdin stdinOnce tty resizePolicy targetContainerName
containerPort hostPort hostIP protocol value valueFrom fieldRef resourceFieldRef configMapKeyRef secretKeyRef fieldPath
containerName resource divisor optional prefix configMapRef secretRef limits requests claims
mountPath subPath subPathExpr mountPropagation readOnly recursiveReadOnly devicePath
privileged capabilities add drop seLinuxOptions windowsOptions runAsUser runAsGroup runAsNonRoot readOnlyRootFilesystem
allowPrivilegeEscalation procMount seccompProfile appArmorProfile supplementalGroups supplementalGroupsPolicy fsGroup
fsGroupChangePolicy sysctls seLinuxChangePolicy user role level localhostProfile gmsaCredentialSpecName gmsaCredentialSpec hostProcess
exec httpGet tcpSocket grpc command initialDelaySeconds timeoutSeconds periodSeconds successThreshold failureThreshold
path port host scheme httpHeaders service postStart preStop sleep seconds stopSignal
hostPath emptyDir secret configMap persistentVolumeClaim projected downwardAPI csi ephemeral nfs iscsi
medium sizeLimit secretName items defaultMode mode claimName sources serviceAccountToken audience expirationSeconds
driver volumeAttributes nodePublishSecretRef fsType volumeClaimTemplate server reference pullPolicy
accessModes storageClassName volumeMode volumeName dataSource dataSourceRef apiGroup
nameservers searches options ip hostnames conditionType restartPolicy
`
  .split(/\s+/)
  .filter(Boolean);

/** Go's JSON key folding, for keys compared with the ASCII field names above. */
export const foldKey = (key: string): string =>
  key
    .replace(/\u212a/g, 'k')
    .replace(/\u017f/g, 's')
    .toLowerCase();

const BY_FOLD = new Map(FIELDS.map((field) => [foldKey(field), field]));

/** Maps whose keys are data, not field names. */
const FREE_FORM = new Set([
  'labels',
  'annotations',
  'data',
  'binaryData',
  'stringData',
  'nodeSelector',
  'matchLabels',
  'limits',
  'requests',
  'volumeAttributes',
  'overhead',
  'capacity',
]);

export interface AmbiguousKey {
  path: (string | number)[];
  message: string;
}

/** The first key podman would read as something the runner did not check, or undefined. */
export const firstAmbiguousKey = (value: unknown, path: (string | number)[] = []): AmbiguousKey | undefined => {
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = firstAmbiguousKey(item, [...path, index]);
      if (found) return found;
    }
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    if (key === '<<') {
      return {
        path: [...path, key],
        message:
          'YAML merge keys (<<) are not accepted: podman would merge fields the policy never saw; write the fields out',
      };
    }
    const field = BY_FOLD.get(foldKey(key));
    if (field !== undefined && field !== key) {
      return { path: [...path, key], message: `field names are case-sensitive; did you mean \`${field}\`?` };
    }
    if (FREE_FORM.has(key)) {
      // Its keys are data, but a merge key is still merged by podman's reader.
      if (child !== null && typeof child === 'object' && !Array.isArray(child) && Object.hasOwn(child, '<<')) {
        return {
          path: [...path, key, '<<'],
          message:
            'YAML merge keys (<<) are not accepted: podman would merge fields the policy never saw; write the fields out',
        };
      }
      continue;
    }
    const found = firstAmbiguousKey(child, [...path, key]);
    if (found) return found;
  }
  return undefined;
};
