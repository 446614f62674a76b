# bounceinfo-default.sieve - file bounces into Bounces/<reason>
#
# A global script for Pigeonhole's sieve_after (see sieve-scripts/README.md,
# doc/for-sysadmins.md and doc/sieve-bounceinfo.md). It only touches
# bounces: delivery status notifications and non-delivery reports (kinds
# "dsn" and "ndr") go to "Bounces/<readable folder for the class>", delay
# warnings ("delayed") to "Bounces/Delayed". Everything else - ordinary
# mail, delivery reports, vacation auto-replies, abuse reports - is left
# alone. As sieve_after it runs after the user's personal script and only
# while that script left the message to the implicit keep: a user's own
# fileinto, discard or redirect wins, and a message is stored once. A
# user's explicit "keep" wins too: Pigeonhole would run this script after
# it as after the implicit keep, so bounceinfo_kept tells the two apart.
#
# The folder is chosen by the class of the first failed recipient, the same
# one ${bounceinfo.class} shows. Folders are created on first use.
# The hierarchy separator "/" is assumed (namespace separator = /); with
# Maildir++'s default "." replace "Bounces/" below by "Bounces.".

require ["bounceinfo", "variables", "fileinto", "mailbox"];

# An earlier script (the user's) said "keep": leave the message in INBOX.
if bounceinfo_kept {
	stop;
}

if bounceinfo :kind "delayed" {
	fileinto :create "Bounces/Delayed";
} elsif bounceinfo :kind ["dsn", "ndr"] {
	set "class" "${bounceinfo.class}";
	set "folder" "Other";

	if string :is "${class}" "user-unknown" {
		set "folder" "Unknown recipient";
	} elsif string :is "${class}" "quota" {
		set "folder" "Mailbox full";
	} elsif string :is "${class}" "disabled" {
		set "folder" "Disabled account";
	} elsif string :is "${class}" "moved" {
		set "folder" "Recipient moved";
	} elsif string :is "${class}" "host-unknown" {
		set "folder" "Unknown domain";
	} elsif string :is "${class}" "no-mail" {
		set "folder" "Domain accepts no mail";
	} elsif string :is "${class}" "spam" {
		set "folder" "Rejected as spam";
	} elsif string :is "${class}" "virus" {
		set "folder" "Virus found";
	} elsif string :is "${class}" "blocklist" {
		set "folder" "Blocklisted";
	} elsif string :is "${class}" "reputation" {
		set "folder" "Sender reputation";
	} elsif string :is "${class}" "rdns" {
		set "folder" "Missing reverse DNS";
	} elsif string :is "${class}" "auth" {
		set "folder" "Authentication failed";
	} elsif string :is "${class}" "relay" {
		set "folder" "Relaying denied";
	} elsif string :is "${class}" "sender-rejected" {
		set "folder" "Sender rejected";
	} elsif string :is "${class}" "filtered" {
		set "folder" "Filtered";
	} elsif string :is "${class}" "policy" {
		set "folder" "Policy";
	} elsif string :is "${class}" "security" {
		set "folder" "Security";
	} elsif string :is "${class}" "size" {
		set "folder" "Message too large";
	} elsif string :is "${class}" "rate-limit" {
		set "folder" "Rate limited";
	} elsif string :is "${class}" "content" {
		set "folder" "Content rejected";
	} elsif string :is "${class}" "syntax" {
		set "folder" "Syntax error";
	} elsif string :is "${class}" "system" {
		set "folder" "Remote system error";
	} elsif string :is "${class}" "mailer" {
		set "folder" "Mailer error";
	} elsif string :is "${class}" "network" {
		set "folder" "Network error";
	} elsif string :is "${class}" "expired" {
		set "folder" "Delivery timed out";
	}
	# "unknown" (and any class added later) stays in "Other".

	fileinto :create "Bounces/${folder}";
}
