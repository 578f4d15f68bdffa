// Every workflow the worker runs (the bundle's entry point).
export { registration } from './registration.ts';
export { appointment } from './appointment.ts';
export { complianceDigest } from './compliance.ts';
