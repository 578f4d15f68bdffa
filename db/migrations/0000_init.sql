CREATE TABLE "access_review_items" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"review_id" uuid NOT NULL,
	"entitlement_id" uuid NOT NULL,
	"account_id" uuid NOT NULL,
	"system_code" text NOT NULL,
	"role" text NOT NULL,
	"unit_code" text NOT NULL,
	"reviewer_unit_code" text NOT NULL,
	"move_to_unit_code" text,
	"decision" text,
	"justification" text,
	"decided_by" uuid,
	"decided_at" timestamp with time zone,
	"auto_applied" boolean DEFAULT false NOT NULL
);
--> statement-breakpoint
CREATE TABLE "access_reviews" (
	"id" uuid PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"name" text NOT NULL,
	"scope_unit_code" text NOT NULL,
	"subject_account_id" uuid,
	"cause" text,
	"status" text DEFAULT 'running' NOT NULL,
	"due_at" timestamp with time zone NOT NULL,
	"on_no_decision" text NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"completed_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "accounts" (
	"id" uuid PRIMARY KEY NOT NULL,
	"username" text NOT NULL,
	"password_hash" text NOT NULL,
	"citizen_id_enc" text,
	"citizen_id_hash" text,
	"first_name_th" text NOT NULL,
	"last_name_th" text NOT NULL,
	"first_name_en" text,
	"last_name_en" text,
	"email" text NOT NULL,
	"phone" text,
	"position" text,
	"unit_code" text,
	"status" text DEFAULT 'active' NOT NULL,
	"central_admin" boolean DEFAULT false NOT NULL,
	"registration_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "admin_appointments" (
	"id" uuid PRIMARY KEY NOT NULL,
	"unit_code" text NOT NULL,
	"account_id" uuid NOT NULL,
	"submitted_by" uuid NOT NULL,
	"letter_sha256" text NOT NULL,
	"letter_file_name" text NOT NULL,
	"letter_size" integer NOT NULL,
	"term_end" text,
	"status" text NOT NULL,
	"acting_unit_code" text NOT NULL,
	"submitted_at" timestamp with time zone DEFAULT now() NOT NULL,
	"decided_at" timestamp with time zone,
	"ended_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "appointment_events" (
	"appointment_id" uuid NOT NULL,
	"seq" integer NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"event" text NOT NULL,
	"actor_account_id" uuid,
	"acting_unit_code" text,
	"note" text,
	CONSTRAINT "appointment_events_appointment_id_seq_pk" PRIMARY KEY("appointment_id","seq")
);
--> statement-breakpoint
CREATE TABLE "audit_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"chain" integer DEFAULT 0 NOT NULL,
	"prev_hash" text,
	"hash" text NOT NULL,
	"key" text NOT NULL,
	"actor_account_id" uuid,
	"actor" text NOT NULL,
	"action" text NOT NULL,
	"subject_type" text NOT NULL,
	"subject_id" text NOT NULL,
	"unit_code" text,
	"reason" text,
	"before" jsonb,
	"after" jsonb
);
--> statement-breakpoint
CREATE TABLE "auth_tokens" (
	"token_hash" text PRIMARY KEY NOT NULL,
	"account_id" uuid NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"revoked_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "documents" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"registration_id" uuid NOT NULL,
	"sha256" text NOT NULL,
	"media_type" text NOT NULL,
	"size" integer NOT NULL,
	"file_name" text NOT NULL,
	"uploaded_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "entitlements" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"account_id" uuid NOT NULL,
	"system_code" text NOT NULL,
	"role" text NOT NULL,
	"unit_code" text NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "mail_outbox" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"key" text NOT NULL,
	"template" text NOT NULL,
	"to_address" text NOT NULL,
	"subject" text NOT NULL,
	"text_body" text NOT NULL,
	"html_body" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"sent_at" timestamp with time zone,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text
);
--> statement-breakpoint
CREATE TABLE "notes" (
	"id" uuid PRIMARY KEY NOT NULL,
	"text" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "org_units" (
	"code" text PRIMARY KEY NOT NULL,
	"parent_code" text,
	"kind" text NOT NULL,
	"name_th" text NOT NULL,
	"name_en" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "personnel_events" (
	"event_id" text PRIMARY KEY NOT NULL,
	"type" text NOT NULL,
	"citizen_id_hash" text NOT NULL,
	"citizen_id_enc" text NOT NULL,
	"effective_date" text NOT NULL,
	"to_unit_code" text,
	"new_position" text,
	"note" text,
	"source" text NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"status" text DEFAULT 'scheduled' NOT NULL,
	"outcome" text,
	"applied_at" timestamp with time zone,
	"account_id" uuid,
	"review_id" uuid
);
--> statement-breakpoint
CREATE TABLE "registration_events" (
	"registration_id" uuid NOT NULL,
	"seq" integer NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"event" text NOT NULL,
	"actor_account_id" uuid,
	"acting_unit_code" text,
	"note" text,
	CONSTRAINT "registration_events_registration_id_seq_pk" PRIMARY KEY("registration_id","seq")
);
--> statement-breakpoint
CREATE TABLE "registrations" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tracking_code_hash" text NOT NULL,
	"citizen_id_enc" text NOT NULL,
	"citizen_id_hash" text NOT NULL,
	"first_name_th" text NOT NULL,
	"last_name_th" text NOT NULL,
	"first_name_en" text,
	"last_name_en" text,
	"email" text NOT NULL,
	"phone" text,
	"position" text NOT NULL,
	"unit_code" text NOT NULL,
	"username" text NOT NULL,
	"password_hash" text NOT NULL,
	"requested_access" jsonb NOT NULL,
	"identity_verified_by" text DEFAULT 'form' NOT NULL,
	"status" text NOT NULL,
	"acting_unit_code" text NOT NULL,
	"submitted_at" timestamp with time zone DEFAULT now() NOT NULL,
	"decided_at" timestamp with time zone,
	"account_id" uuid
);
--> statement-breakpoint
CREATE TABLE "survey_responses" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"round" text NOT NULL,
	"account_id" uuid NOT NULL,
	"unit_code" text,
	"scores" jsonb NOT NULL,
	"comment" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "systems" (
	"code" text PRIMARY KEY NOT NULL,
	"name_th" text NOT NULL,
	"name_en" text,
	"url" text NOT NULL,
	"roles" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "unit_admins" (
	"unit_code" text NOT NULL,
	"account_id" uuid NOT NULL,
	"since" timestamp with time zone DEFAULT now() NOT NULL,
	"source" text NOT NULL,
	"appointment_id" uuid,
	CONSTRAINT "unit_admins_unit_code_account_id_pk" PRIMARY KEY("unit_code","account_id")
);
--> statement-breakpoint
CREATE UNIQUE INDEX "access_review_items_uq" ON "access_review_items" USING btree ("review_id","entitlement_id");--> statement-breakpoint
CREATE INDEX "access_review_items_reviewer_idx" ON "access_review_items" USING btree ("review_id","reviewer_unit_code");--> statement-breakpoint
CREATE UNIQUE INDEX "accounts_username_uq" ON "accounts" USING btree (lower("username"));--> statement-breakpoint
CREATE UNIQUE INDEX "accounts_citizen_id_hash_uq" ON "accounts" USING btree ("citizen_id_hash");--> statement-breakpoint
CREATE UNIQUE INDEX "accounts_registration_uq" ON "accounts" USING btree ("registration_id");--> statement-breakpoint
CREATE INDEX "accounts_unit_idx" ON "accounts" USING btree ("unit_code");--> statement-breakpoint
CREATE INDEX "admin_appointments_unit_idx" ON "admin_appointments" USING btree ("unit_code");--> statement-breakpoint
CREATE UNIQUE INDEX "admin_appointments_open_uq" ON "admin_appointments" USING btree ("unit_code","account_id") WHERE "admin_appointments"."status" = 'pending_approval';--> statement-breakpoint
CREATE UNIQUE INDEX "audit_events_key_uq" ON "audit_events" USING btree ("key");--> statement-breakpoint
CREATE INDEX "audit_events_subject_idx" ON "audit_events" USING btree ("subject_type","subject_id");--> statement-breakpoint
CREATE INDEX "audit_events_unit_idx" ON "audit_events" USING btree ("unit_code","id");--> statement-breakpoint
CREATE INDEX "audit_events_actor_idx" ON "audit_events" USING btree ("actor_account_id","id");--> statement-breakpoint
CREATE INDEX "audit_events_chain_idx" ON "audit_events" USING btree ("chain","id");--> statement-breakpoint
CREATE INDEX "auth_tokens_account_idx" ON "auth_tokens" USING btree ("account_id");--> statement-breakpoint
CREATE INDEX "documents_registration_idx" ON "documents" USING btree ("registration_id");--> statement-breakpoint
CREATE UNIQUE INDEX "entitlements_grant_uq" ON "entitlements" USING btree ("account_id","system_code","role","unit_code");--> statement-breakpoint
CREATE UNIQUE INDEX "mail_outbox_key_uq" ON "mail_outbox" USING btree ("key");--> statement-breakpoint
CREATE INDEX "org_units_parent_idx" ON "org_units" USING btree ("parent_code");--> statement-breakpoint
CREATE INDEX "personnel_events_person_idx" ON "personnel_events" USING btree ("citizen_id_hash","received_at");--> statement-breakpoint
CREATE UNIQUE INDEX "registrations_open_citizen_uq" ON "registrations" USING btree ("citizen_id_hash") WHERE "registrations"."status" in ('pending_approval', 'info_requested');--> statement-breakpoint
CREATE UNIQUE INDEX "registrations_open_username_uq" ON "registrations" USING btree (lower("username")) WHERE "registrations"."status" in ('pending_approval', 'info_requested');--> statement-breakpoint
CREATE INDEX "registrations_acting_unit_idx" ON "registrations" USING btree ("acting_unit_code","status");--> statement-breakpoint
CREATE UNIQUE INDEX "survey_responses_once_uq" ON "survey_responses" USING btree ("round","account_id");--> statement-breakpoint
CREATE INDEX "survey_responses_unit_idx" ON "survey_responses" USING btree ("round","unit_code");--> statement-breakpoint
CREATE INDEX "unit_admins_account_idx" ON "unit_admins" USING btree ("account_id");