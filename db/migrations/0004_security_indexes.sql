CREATE INDEX "accounts_central_admin_idx" ON "accounts" USING btree ("central_admin") WHERE "accounts"."central_admin";--> statement-breakpoint
CREATE INDEX "entitlements_unit_idx" ON "entitlements" USING btree ("unit_code");--> statement-breakpoint
CREATE INDEX "personnel_events_status_idx" ON "personnel_events" USING btree ("status","received_at");