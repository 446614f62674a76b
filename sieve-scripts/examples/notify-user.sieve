# notify-user.sieve - tell the user in plain words why mail bounced
#
# Sends a short notification (enotify, mailto:) to the user's own address
# (the envelope recipient of the bounce). Its body says which recipient
# failed, the class, the remote server's words and the explanation in the
# user's language (bounceinfo_language). It never writes to the bounce's
# sender: bounces come from the null sender <> and RFC 3834 forbids
# answering them (that is how mail loops start).
#
# Pigeonhole's mailto method takes the body from the URI ("?body=...",
# percent-encoded, hence set :encodeurl); it ignores :options. The
# notification carries "Auto-Submitted: auto-notified"; a bounce of a
# notification is recognised by its original subject and not notified
# again, and "duplicate" notifies at most once per bounce (by its
# Message-ID) even when it reaches the user twice.
#
# Caveat: Pigeonhole's mailto method itself never notifies about a message
# whose Auto-Submitted header says anything but "no" (its own loop guard,
# RFC 5436). Several mail systems mark their bounces "Auto-Submitted:
# auto-replied"; for those this script does nothing and the trusted
# X-Bounce-Explanation header (bounceinfo_headers = yes) is the dependable
# way to show the explanation.

require ["bounceinfo", "variables", "enotify", "envelope", "duplicate"];

# Hard bounces only: soft ones usually fix themselves. The ${bounceinfo.*}
# variables describe the first failed recipient, so that is the one tested.
if allof (string :is "${bounceinfo.severity}" "hard",
	  not bounceinfo :originalsubject :contains "[undeliverable]") {
	# The envelope recipient of the bounce is the user; never the sender.
	set "me" "";
	if envelope :matches "to" "*" {
		set "me" "${1}";
	}
	if allof (not string :is "${me}" "",
		  not duplicate :handle "bounceinfo-notify") {
		set "text" "${bounceinfo.explanation}

Failed recipient: ${bounceinfo.recipient}
Reason: ${bounceinfo.class} (${bounceinfo.severity})
The receiving server said: ${bounceinfo.diagnostic}
Your message: ${bounceinfo.original_subject}
";
		set :encodeurl "body" "${text}";
		notify :importance "2"
		       :message "[undeliverable] ${bounceinfo.recipient}: ${bounceinfo.class}"
		       "mailto:${me}?body=${body}";
	}
}
