/**
 * Event (events.k8s.io/v1, namespaced), validated on create as the real server validates a new-style event
 * (kubernetes pkg/apis/core/validation/events.go): the fields an event recorder must set, their lengths,
 * `type` Normal or Warning, and the event in the namespace of the object it is about.
 */
import type { Obj, ResourceDef } from '../resource';

const QUALIFIED = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const NOTE_MAX = 1024;

export const validateEvent = (next: Obj, prev: Obj | undefined): string | undefined => {
  if (prev) return undefined;
  const required = (field: string, max: number): string | undefined => {
    const v = next[field];
    if (typeof v !== 'string' || v === '') return `${field}: Required value`;
    if (v.length > max) return `${field}: Too long: may not be longer than ${max}`;
    return undefined;
  };
  if (typeof next.eventTime !== 'string' || Number.isNaN(Date.parse(next.eventTime))) return 'eventTime: Required value';
  const missing =
    required('reportingController', 316) ?? required('reportingInstance', 128) ?? required('action', 128) ?? required('reason', 128);
  if (missing) return missing;
  if (!QUALIFIED.test(next.reportingController)) return 'reportingController: Invalid value: must be a qualified name';
  if (next.type !== 'Normal' && next.type !== 'Warning')
    return `type: Unsupported value: "${String(next.type)}": supported values: "Normal", "Warning"`;
  if (typeof next.note === 'string' && Buffer.byteLength(next.note) > NOTE_MAX) return `note: Too long: may not be longer than ${NOTE_MAX}`;
  const regarding = next.regarding;
  if (regarding?.namespace !== undefined && regarding.namespace !== next.metadata?.namespace)
    return 'regarding.namespace: Invalid value: does not match event.namespace';
  return undefined;
};

export const EVENTS: ResourceDef = {
  group: 'events.k8s.io',
  version: 'v1',
  resource: 'events',
  kind: 'Event',
  namespaced: true,
  validate: validateEvent,
};
