import type { CifSession } from './types.js';

/** Span or resource attribute whose value becomes the payload's `conversationId`. */
export const ATTR_CIF_CONVERSATION_ID = 'cif.conversation.id';
/** Span or resource attribute whose value becomes the payload's `providerSessionId`. */
export const ATTR_CIF_PROVIDER_SESSION_ID = 'cif.provider_session.id';
/** Span or resource attribute whose value becomes the payload's `clientSessionId`. */
export const ATTR_CIF_CLIENT_SESSION_ID = 'cif.client_session.id';
/** Span or resource attribute whose value becomes the payload's `participantId` (the agent). */
export const ATTR_CIF_PARTICIPANT_ID = 'cif.participant.id';

/** The attribute that carries each identity field, in payload order: the first two are required. */
export const SESSION_ATTRIBUTES: ReadonlyArray<readonly [keyof CifSession, string]> = [
  ['conversationId', ATTR_CIF_CONVERSATION_ID],
  ['providerSessionId', ATTR_CIF_PROVIDER_SESSION_ID],
  ['clientSessionId', ATTR_CIF_CLIENT_SESSION_ID],
  ['participantId', ATTR_CIF_PARTICIPANT_ID],
];

/**
 * On a span event: the KPI event name (instead of the event's own name).
 * On a span: the span itself is one KPI event, stamped at its end time.
 */
export const ATTR_CIF_KPI_NAME = 'cif.kpi.name';
/** `kpiEventReason`; on a span it is the default for the span's KPI events. */
export const ATTR_CIF_KPI_REASON = 'cif.kpi.reason';
/** `additionalData`; on a span it is the default for the span's KPI events. */
export const ATTR_CIF_KPI_ADDITIONAL_DATA = 'cif.kpi.additional_data';
/** `notificationResponseAction` (`accepted`, `rejected`, ...); on a span, a default. */
export const ATTR_CIF_KPI_NOTIFICATION_RESPONSE_ACTION = 'cif.kpi.notification_response_action';
/** `externalCorrelationId`: the id in the provider's own system; on a span, a default. */
export const ATTR_CIF_KPI_EXTERNAL_CORRELATION_ID = 'cif.kpi.external_correlation_id';
/** Prefix of the attributes of a KPI event's own fields, `cif.kpi.name` and the others above. */
export const CIF_KPI_PREFIX = 'cif.kpi.';
/**
 * Prefix of attributes that become `customData` items: `cif.kpi.custom.msdyn_customattribute1`
 * becomes `{ attribute: 'msdyn_customattribute1', value }`.
 */
export const CIF_KPI_CUSTOM_PREFIX = 'cif.kpi.custom.';

/** Any attribute with this prefix, on a span or one of its events, makes the span a CIF span. */
export const CIF_ATTRIBUTE_PREFIX = 'cif.';
