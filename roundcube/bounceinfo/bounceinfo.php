<?php

/**
 * bounceinfo: bounces explained and sorted in Roundcube.
 *
 * Reads what dovecot-bounceinfo's mail plugin puts on a delivered bounce
 * (the IMAP keywords $Bounce_<class>, and with bounceinfo_headers = yes the
 * trusted X-Bounce-* headers, which the server strips from every incoming
 * mail before adding its own) and shows:
 *  - a banner on a bounce in the message view: class, explanation in the
 *    user's language from the project's explanations data, failed
 *    recipients, the server's diagnostic on demand, what to do;
 *  - the class on bounces in the message list, and a "Bounces" entry in
 *    the quick search filter;
 *  - Settings > Bounces: which classes go to which folder, written as
 *    ordinary header tests on X-Bounce-Class through the managesieve
 *    plugin's engine, and an optional notification when a bounce arrives.
 *
 * @license MIT
 */
require_once __DIR__ . '/lib/bounceinfo_rules.php';

class bounceinfo extends rcube_plugin
{
    public $task = 'mail|settings';

    /** trusted headers added by the mail plugin (lower case, as Roundcube stores them) */
    const HEADERS = [
        'x-bounce-class', 'x-bounce-severity', 'x-bounce-kind', 'x-bounce-recipient',
        'x-bounce-status', 'x-bounce-diagnostic', 'x-bounce-explanation',
    ];

    /** languages of the explanations data */
    const LANGUAGES = ['en', 'pl', 'ru', 'cs', 'de', 'fr', 'es'];

    /** search filter value: keyword set by the mail plugin, or the trusted header */
    const FILTER = 'OR KEYWORD $Bounce HEADER X-Bounce-Class ""';

    private $rc;
    private $explanations = [];
    private $folder_names;

    // state of a settings request between the save and the form
    private $form_error;
    private $posted;
    private $posted_notify = false;
    private $saved = false;

    function init()
    {
        $this->rc = rcube::get_instance();

        // options default in the code (config.inc.php.dist documents them):
        // loading the .dist here would override the main config's values
        $this->load_config();

        $this->add_hook('storage_init', [$this, 'storage_init']);

        if ($this->rc->task == 'mail') {
            $this->add_texts('localization/');
            $this->include_stylesheet($this->local_skin_path() . '/bounceinfo.css');

            if ($this->rc->action == 'show' || $this->rc->action == 'preview') {
                $this->add_hook('message_objects', [$this, 'message_objects']);
            }
            else {
                $this->include_script('bounceinfo.js');
                $this->add_hook('messages_list', [$this, 'messages_list']);
                $this->add_hook('template_object_searchfilter', [$this, 'searchfilter']);
                $this->add_hook('new_messages', [$this, 'new_messages']);
            }
        }
        else if ($this->rc->task == 'settings') {
            $this->add_texts('localization/');
            $this->include_stylesheet($this->local_skin_path() . '/bounceinfo.css');
            $this->add_hook('settings_actions', [$this, 'settings_actions']);
            $this->register_action('plugin.bounceinfo', [$this, 'settings_page']);
            $this->register_action('plugin.bounceinfo-save', [$this, 'settings_save']);
        }
    }

    /** Ask IMAP for the trusted headers along with the list/view headers. */
    function storage_init($args)
    {
        $headers = trim(($args['fetch_headers'] ?? '') . ' ' . strtoupper(implode(' ', self::HEADERS)));
        $args['fetch_headers'] = $headers;

        return $args;
    }

    // ---- reading a message -------------------------------------------------

    /**
     * What the server says about a message: null for ordinary mail, else
     * class, severity, kind, recipients, status, diagnostic, explanation.
     */
    function bounce_info($header)
    {
        if (!$header) {
            return null;
        }

        $info  = null;
        $trust = (bool) $this->rc->config->get('bounceinfo_trust_headers', true);

        if ($trust) {
            $class = strtolower(trim((string) $this->header_value($header, 'x-bounce-class')));
            if (bounceinfo_rules::valid_class($class)) {
                $info = ['class' => $class];
            }
        }

        // keywords: $Bounce_<class>, '-' written as '_'; Roundcube upper-cases
        // flags and drops the '$'
        if (!$info && !empty($header->flags) && is_array($header->flags)) {
            foreach (array_keys($header->flags) as $flag) {
                if (preg_match('/^BOUNCE_([A-Z0-9_]+)$/', $flag, $m)) {
                    $class = str_replace('_', '-', strtolower($m[1]));
                    if (bounceinfo_rules::valid_class($class)) {
                        $info = ['class' => $class];
                        break;
                    }
                }
            }
        }

        if (!$info) {
            return null;
        }

        $info['severity']    = '';
        $info['kind']        = '';
        $info['status']      = '';
        $info['diagnostic']  = '';
        $info['explanation'] = '';
        $info['recipients']  = [];

        if ($trust) {
            $sev = strtolower(trim((string) $this->header_value($header, 'x-bounce-severity')));
            $info['severity'] = in_array($sev, ['hard', 'soft']) ? $sev : '';
            $kind = strtolower(trim((string) $this->header_value($header, 'x-bounce-kind')));
            $info['kind'] = preg_match('/^[a-z-]{1,20}$/', $kind) ? $kind : '';
            $info['status'] = trim((string) $this->header_value($header, 'x-bounce-status'));
            $info['diagnostic'] = trim((string) $this->header_value($header, 'x-bounce-diagnostic'));
            $info['explanation'] = trim((string) $this->header_value($header, 'x-bounce-explanation'));

            foreach ((array) $this->header_value($header, 'x-bounce-recipient', true) as $value) {
                foreach (preg_split('/\s*,\s*/', trim((string) $value)) as $addr) {
                    if ($addr !== '') {
                        $info['recipients'][] = $addr;
                    }
                }
            }
            $info['recipients'] = array_values(array_unique($info['recipients']));
        }

        return $info;
    }

    /** A decoded header value (all of them as an array with $all). */
    private function header_value($header, $name, $all = false)
    {
        $value = $header->others[$name] ?? null;
        if ($value === null) {
            return $all ? [] : null;
        }

        $values = [];
        foreach ((array) $value as $v) {
            $v = rcube_mime::decode_header(preg_replace('/\r?\n[ \t]+/', ' ', (string) $v), $header->charset ?? null);
            // one line, no control characters (a diagnostic is bounded, one line)
            $values[] = preg_replace('/[\x00-\x08\x0b-\x1f\x7f]+/', ' ', $v);
        }

        return $all ? $values : $values[0];
    }

    /** The user's language among those of the explanations data. */
    function language()
    {
        $lang = strtolower(substr((string) $this->rc->get_user_language(), 0, 2));

        return in_array($lang, self::LANGUAGES) ? $lang : 'en';
    }

    /** [class => text] for a language, from <datadir>/explanations/<lang>.txt. */
    function explanations($lang = null)
    {
        $lang = $lang ?: $this->language();

        if (!isset($this->explanations[$lang])) {
            $dir  = rtrim((string) $this->rc->config->get('bounceinfo_datadir', '/usr/share/dovecot-bounceinfo'), '/');
            $text = @file_get_contents("$dir/explanations/$lang.txt");
            $this->explanations[$lang] = $text === false ? [] : bounceinfo_rules::parse_explanations($text);
            if ($lang != 'en') {
                $this->explanations[$lang] += $this->explanations('en');
            }
        }

        return $this->explanations[$lang];
    }

    /** Explanation of a class: the data file first, the trusted header next. */
    function explanation($info)
    {
        $texts = $this->explanations();

        if (isset($texts[$info['class']])) {
            return $texts[$info['class']];
        }

        return $info['explanation'];
    }

    // ---- message view ------------------------------------------------------

    /** The banner above the body of a bounce. */
    function message_objects($args)
    {
        $message = $args['message'] ?? null;
        $info    = $message ? $this->bounce_info($message->headers) : null;

        if ($info) {
            array_unshift($args['content'], $this->banner($info));
        }

        return $args;
    }

    /** Banner HTML; every value from the message goes through rcube::Q(). */
    function banner($info)
    {
        list($what, $todo) = bounceinfo_rules::split_explanation($this->explanation($info));

        $title_label = 'title_failed';
        if (in_array($info['class'], ['delivery-report', 'autoreply', 'complaint'])) {
            $title_label = 'title_' . str_replace('-', '_', $info['class']);
        }
        else if ($info['kind'] == 'delayed') {
            $title_label = 'title_delayed';
        }

        $class_line = html::span('bounceinfo-class', rcube::Q($info['class']));
        if ($info['severity']) {
            $class_line .= ' ' . html::span('bounceinfo-severity bounceinfo-' . $info['severity'],
                rcube::Q($this->gettext('severity_' . $info['severity'])));
        }
        if ($info['status'] !== '') {
            $class_line .= ' ' . html::span('bounceinfo-status', rcube::Q($info['status']));
        }

        $body = html::p('bounceinfo-title', html::tag('strong', null, rcube::Q($this->gettext($title_label))) . ' ' . $class_line);

        if ($what !== '') {
            $body .= html::p('bounceinfo-what', rcube::Q($what));
        }

        if (!empty($info['recipients'])) {
            $items = '';
            foreach ($info['recipients'] as $addr) {
                $items .= html::tag('li', null, rcube::Q($addr));
            }
            $body .= html::div('bounceinfo-recipients',
                html::span('bounceinfo-label', rcube::Q($this->gettext('recipients'))) . ' ' . html::tag('ul', null, $items));
        }

        if ($todo !== '') {
            $body .= html::p('bounceinfo-todo',
                html::span('bounceinfo-label', rcube::Q($this->gettext('whattodo'))) . ' ' . rcube::Q($todo));
        }

        if ($info['diagnostic'] !== '') {
            $body .= html::tag('details', ['class' => 'bounceinfo-diagnostic'],
                html::tag('summary', null, rcube::Q($this->gettext('showdiagnostic')))
                . html::tag('pre', null, rcube::Q($info['diagnostic'])));
        }

        return html::div([
                'id'         => 'bounceinfo-banner',
                'class'      => 'bounceinfo-banner boxwarning bounceinfo-class-' . $info['class'],
                'data-class' => $info['class'],
                'role'       => 'note',
            ], $body);
    }

    // ---- message list ------------------------------------------------------

    /** Pass each bounce's class to the list (bounceinfo.js shows it). */
    function messages_list($args)
    {
        foreach ((array) $args['messages'] as $header) {
            $info = $this->bounce_info($header);
            if ($info) {
                $header->list_flags['extra_flags']['bounceclass'] = $info['class'];
            }
        }

        $this->rc->output->add_label('bounceinfo.bounce');

        return $args;
    }

    /** Add "Bounces" to the quick search filter. */
    function searchfilter($args)
    {
        $option = html::tag('option', ['value' => self::FILTER], rcube::Q($this->gettext('filter')));
        $selected = rcube_utils::get_input_string('_filter', rcube_utils::INPUT_GET);
        if (!$selected && !empty($_REQUEST['_search'])) {
            $selected = $_SESSION['search_filter'] ?? '';
        }
        if ($selected === self::FILTER) {
            $option = html::tag('option', ['value' => self::FILTER, 'selected' => 'selected'],
                rcube::Q($this->gettext('filter')));
        }

        $args['content'] = preg_replace('!</select>!i', $option . '</select>', $args['content'], 1);

        return $args;
    }

    /** With the notification on, explain each new bounce in a message. */
    function new_messages($args)
    {
        if (!$this->rc->config->get('bounceinfo_notify', false) || empty($args['diff']['new'])) {
            return $args;
        }

        $headers = $this->rc->storage->fetch_headers($args['mailbox'], $args['diff']['new'], false);
        foreach ((array) $headers as $header) {
            $info = $this->bounce_info($header);
            if (!$info || in_array($info['class'], ['delivery-report', 'autoreply'])) {
                continue;
            }
            list($what, ) = bounceinfo_rules::split_explanation($this->explanation($info));
            $text = $this->gettext('newbounce') . ' (' . $info['class'] . '): ' . $what;
            // display_message puts the text into the page as HTML
            $this->rc->output->show_message(rcube::Q($text), 'warning', null, false, 20);
        }

        return $args;
    }

    // ---- settings ----------------------------------------------------------

    function settings_actions($args)
    {
        $args['actions'][] = [
            'action' => 'plugin.bounceinfo',
            'class'  => 'bounceinfo',
            'label'  => 'settings',
            'title'  => 'settingstitle',
            'domain' => 'bounceinfo',
        ];

        return $args;
    }

    /** The managesieve plugin's engine in bounceinfo mode, or null. */
    private function sieve_engine()
    {
        $managesieve = $this->rc->plugins->get_plugin('managesieve');
        if (!$managesieve) {
            return null;
        }

        // the same include path managesieve::get_engine() sets
        set_include_path($managesieve->home . '/lib' . PATH_SEPARATOR . get_include_path());
        require_once $this->home . '/lib/rcube_sieve_bounceinfo.php';

        return new rcube_sieve_bounceinfo($managesieve);
    }

    /** Classes offered: those of the explanations data, in its order. */
    function classes()
    {
        $classes = array_keys($this->explanations('en'));
        if (empty($classes)) {
            $classes = ['user-unknown', 'quota', 'disabled', 'host-unknown', 'spam', 'blocklist', 'unknown'];
        }

        return array_values(array_diff($classes, ['delivery-report', 'autoreply', 'complaint']));
    }

    /** [class => folder name] of the project's folder table (folder-map.tsv). */
    function folder_names()
    {
        if ($this->folder_names === null) {
            $file = (string) $this->rc->config->get('bounceinfo_folder_map', 'sieve/folder-map.tsv');
            if ($file !== '' && $file[0] !== '/') {
                $file = rtrim((string) $this->rc->config->get('bounceinfo_datadir', '/usr/share/dovecot-bounceinfo'), '/') . '/' . $file;
            }
            $text = $file !== '' ? @file_get_contents($file) : false;
            $this->folder_names = $text === false ? [] : bounceinfo_rules::parse_folder_map($text);
        }

        return $this->folder_names;
    }

    /** Folder (under bounceinfo_folder) for a class, with the server's delimiter. */
    function default_folder($class)
    {
        $root  = (string) $this->rc->config->get('bounceinfo_folder', 'Bounces');
        $names = $this->folder_names();
        $delim = $this->rc->get_storage()->get_hierarchy_delimiter() ?: '/';

        return $root . $delim . ($names[$class] ?? $class);
    }

    function settings_page()
    {
        $this->register_handler('plugin.body', [$this, 'settings_form']);
        $this->rc->output->set_pagetitle($this->gettext('settingstitle'));
        $this->rc->output->send('plugin');
    }

    function settings_form($attrib = [])
    {
        $engine  = $this->sieve_engine();
        $current = [];
        $error   = $this->form_error ?? null;
        $usable  = false;

        if (!$engine) {
            $error = $error ?: $this->gettext('nomanagesieve');
        }
        else if ($engine->load()) {
            $error = $error ?: $this->gettext('noconnection');
        }
        else {
            $usable  = true;
            $current = $engine->bounce_rules();
        }

        $posted = $this->posted ?? null;
        // the shipped conf.d runs the default script before the user's
        $server = (bool) $this->rc->config->get('bounceinfo_server_rules', true);
        $texts  = $this->explanations();

        $table = new html_table(['cols' => $server ? 4 : 3, 'class' => 'table table-sm bounceinfo-classes', 'id' => 'bounceinfo-classes']);
        $table->add_header('check', rcube::Q($this->gettext('col_file')));
        $table->add_header('class', rcube::Q($this->gettext('col_class')));
        $table->add_header('folder', rcube::Q($this->gettext('col_folder')));
        if ($server) {
            $table->add_header('server', rcube::Q($this->gettext('col_server')));
        }

        foreach ($this->classes() as $class) {
            $id      = 'bounceinfo-' . $class;
            $checked = $posted !== null ? isset($posted[$class]) : isset($current[$class]);
            $folder  = $posted[$class] ?? ($current[$class] ?? $this->default_folder($class));
            list($what, ) = bounceinfo_rules::split_explanation($texts[$class] ?? '');

            $check = new html_checkbox(['name' => "_class[$class]", 'id' => $id, 'value' => '1']);
            $input = new html_inputfield(['name' => "_folder[$class]", 'id' => "$id-folder",
                'size' => 30, 'class' => 'form-control', 'aria-label' => $class]);

            $table->add('check', $check->show($checked ? '1' : ''));
            $table->add('class', html::label($id, html::span('bounceinfo-class', rcube::Q($class)))
                . html::div('bounceinfo-meaning', rcube::Q($what)));
            $table->add('folder', $input->show($folder));
            if ($server) {
                $table->add('server', isset($this->folder_names()[$class])
                    ? rcube::Q($this->default_folder($class)) : '&mdash;');
            }
        }

        $notify = new html_checkbox(['name' => '_notify', 'id' => 'bounceinfo-notify', 'value' => '1']);
        $notify_on = $posted !== null ? !empty($this->posted_notify)
            : (bool) $this->rc->config->get('bounceinfo_notify', false);

        $out = '';
        if ($error !== null) {
            $out .= html::div(['class' => 'boxerror', 'id' => 'bounceinfo-error'],
                html::tag('strong', null, rcube::Q($this->gettext('saveerror')))
                . html::tag('pre', null, rcube::Q($error)));
        }
        if (!empty($this->saved)) {
            $out .= html::div(['class' => 'boxconfirmation', 'id' => 'bounceinfo-saved'],
                rcube::Q($this->gettext('saved')));
        }

        $out .= html::p('bounceinfo-intro', rcube::Q($this->gettext('intro')));
        $out .= html::p('bounceinfo-server', rcube::Q($this->gettext(
            $server ? 'serverrules' : 'noserverrules')));
        $out .= $table->show();
        $out .= html::p('bounceinfo-notify',
            $notify->show($notify_on ? '1' : '') . ' ' . html::label('bounceinfo-notify', rcube::Q($this->gettext('notify'))));

        $buttons = html::div('formbuttons', html::tag('button', [
                'type' => 'submit', 'class' => 'btn btn-primary submit', 'id' => 'bounceinfo-save',
                'disabled' => $usable ? null : 'disabled',
            ], rcube::Q($this->rc->gettext('save'))));

        $form = $this->rc->output->request_form([
                'id'     => 'bounceinfo-form',
                'name'   => 'bounceinfo-form',
                'method' => 'post',
                'task'   => 'settings',
                'action' => 'plugin.bounceinfo-save',
            ], html::div('formcontent', $out) . $buttons);

        return html::div(['class' => 'formcontainer scroller bounceinfo-settings'],
            html::tag('h2', 'bounceinfo-heading', rcube::Q($this->gettext('settingstitle'))) . $form);
    }

    function settings_save()
    {
        $classes = (array) rcube_utils::get_input_value('_class', rcube_utils::INPUT_POST);
        $folders = (array) rcube_utils::get_input_value('_folder', rcube_utils::INPUT_POST, true);
        $notify  = !empty(rcube_utils::get_input_value('_notify', rcube_utils::INPUT_POST));
        $delim   = $this->rc->get_storage()->get_hierarchy_delimiter() ?: '/';

        $selection = [];
        $errors    = [];
        foreach ($this->classes() as $class) {
            if (empty($classes[$class])) {
                continue;
            }
            $folder = trim((string) ($folders[$class] ?? ''));
            // "/" is how users write a hierarchy; the server may use "."
            $folder = $delim != '/' ? str_replace('/', $delim, $folder) : $folder;
            if (!bounceinfo_rules::valid_folder($folder)) {
                $errors[] = $this->gettext(['name' => 'badfolder', 'vars' => ['class' => $class]]);
                continue;
            }
            $selection[$class] = $folder;
        }

        $this->posted        = $selection;
        $this->posted_notify = $notify;

        if ($errors) {
            $this->form_error = implode("\n", $errors);
            return $this->settings_page();
        }

        $engine = $this->sieve_engine();
        if (!$engine || $engine->load()) {
            $this->form_error = $this->gettext($engine ? 'noconnection' : 'nomanagesieve');
            return $this->settings_page();
        }

        // folders first: the rules file into them from the next delivery on
        $storage = $this->rc->get_storage();
        foreach (array_unique(array_values($selection)) as $folder) {
            $imap_name = rcube_charset::convert($folder, RCUBE_CHARSET, 'UTF7-IMAP');
            if (!$storage->folder_exists($imap_name)) {
                if (!$storage->create_folder($imap_name, true)) {
                    $this->form_error = $this->gettext(['name' => 'foldererror', 'vars' => ['folder' => $folder]]);
                    return $this->settings_page();
                }
            }
            else if (!$storage->folder_exists($imap_name, true)) {
                $storage->subscribe($imap_name);
            }
        }

        if (!$engine->store($selection)) {
            $this->form_error = $engine->server_error;
            rcube::raise_error(['code' => 500, 'file' => __FILE__, 'line' => __LINE__,
                'message' => 'bounceinfo: saving the filter set failed: ' . $engine->server_error], true, false);
            return $this->settings_page();
        }

        $this->rc->user->save_prefs(['bounceinfo_notify' => $notify]);
        $this->rc->config->set('bounceinfo_notify', $notify);

        $this->posted = null;
        $this->saved  = true;
        $this->rc->output->show_message('successfullysaved', 'confirmation');

        return $this->settings_page();
    }
}

