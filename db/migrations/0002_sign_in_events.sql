CREATE TABLE "sign_in_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"account_id" uuid NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"method" text NOT NULL,
	"client_id" text
);
--> statement-breakpoint
CREATE INDEX "sign_in_events_account_idx" ON "sign_in_events" USING btree ("account_id","at");