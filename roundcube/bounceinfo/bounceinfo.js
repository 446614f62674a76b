/**
 * bounceinfo: marks bounces in the message list with their class.
 * The class comes from the server (bounceinfo.php's messages_list hook,
 * validated there as a class token); it is inserted as text only.
 *
 * @license MIT
 */
if (window.rcmail) {
  rcmail.addEventListener('insertrow', function(evt) {
    var msg = rcmail.env.messages ? rcmail.env.messages[evt.uid] : null,
      cls = msg && msg.flags ? msg.flags.bounceclass : null,
      row = evt.row ? evt.row.obj : null;

    if (!cls || !row || !/^[a-z][a-z0-9-]*$/.test(cls))
      return;

    var badge = $('<span>').addClass('bounceinfo-badge bounceinfo-class-' + cls)
      .attr('title', rcmail.get_label('bounceinfo.bounce') + ': ' + cls)
      .text(cls);

    $(row).addClass('bounceinfo-bounce').attr('data-bounce-class', cls);

    var subject = $('td.subject span.subject', row);
    if (!subject.length)
      subject = $('td.subject', row);
    subject.first().prepend(badge);
  });
}
