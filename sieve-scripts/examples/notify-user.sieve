# notify-user.sieve - tell the user in plain words why mail bounced
#
# Sends a short notification (enotify, mailto:) with the explanation to the
# user's own address. It never writes to the bounce's sender: bounces come
# from the null sender <> and RFC 3834 forbids answering them (that is how
# mail loops start). The notification itself carries
# "Auto-Submitted: auto-notified", and a bounce of a notification is
# recognised by its original subject and not notified again.
#
# Caveat: Pigeonhole's mailto method itself never notifies about a message
# whose Auto-Submitted header says anything but "no" (its own loop guard,
# RFC 5436). Several mail systems mark their bounces "Auto-Submitted:
# auto-replied"; for those this script does nothing and tag-header.sieve is
# the dependable way to show the explanation.

require ["bounceinfo", "variables", "enotify", "envelope"];

# Hard bounces only: soft ones usually fix themselves. The ${bounceinfo.*}
# variables describe the first failed recipient, so that is the one tested.
if allof (string :is "${bounceinfo.severity}" "hard",
	  not bounceinfo :originalsubject :contains "[undeliverable]") {
	# The envelope recipient of the bounce is the user; never the sender.
	if envelope :matches "to" "*" {
		set "me" "${1}";
	}
	notify :importance "2"
	       :message "[undeliverable] ${bounceinfo.recipient}: ${bounceinfo.class}"
	       :options ["body=${bounceinfo.explanation}"]
	       "mailto:${me}";
}
