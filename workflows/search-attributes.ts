// Search attributes the workflows publish, so that operators find them in the Temporal UI
// (e.g. `RegistrationStatus = "pending_approval" AND RegistrationActingUnit = "3410"`).
// The dev server is started with these declared; a self-hosted cluster must add them once.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const registrationStatusKey = defineSearchAttributeKey('RegistrationStatus', SearchAttributeType.KEYWORD);
export const registrationActingUnitKey = defineSearchAttributeKey('RegistrationActingUnit', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTES = [registrationStatusKey, registrationActingUnitKey];
