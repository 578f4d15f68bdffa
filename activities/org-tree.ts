// Questions about the organisation tree that workflows ask while they run.
import { findActingUnit } from '../db/org-tree.ts';
import type { ActivityDeps } from './deps.ts';

export function createOrgTreeActivities({ db }: ActivityDeps) {
  return {
    /** The unit whose admins act for `unitCode`: itself or the nearest above with an admin (see db/org-tree.ts). */
    async findActingUnit(input: { unitCode: string; above: boolean }): Promise<string | null> {
      return findActingUnit(db, input.unitCode, input.above);
    },
  };
}

export type OrgTreeActivities = ReturnType<typeof createOrgTreeActivities>;
