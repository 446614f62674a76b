<?php

/**
 * The managesieve plugin's engine in a "bounceinfo" mode: finds the user's
 * active filter set, reads and replaces only the bounce rules in it
 * (bounceinfo_rules), saves through the managesieve plugin's rcube_sieve
 * connection and activates the set when needed.
 *
 * Loaded only after the managesieve plugin put its lib/ on the include
 * path (bounceinfo::sieve_engine()).
 */
class rcube_sieve_bounceinfo extends rcube_sieve_engine
{
    /** name of the filter set holding the bounce rules, or null */
    protected $script_name;

    /** the server's full text of the last failed operation */
    public $server_error = '';

    /** Connect and load the set. Returns 0 or an rcube_sieve error code. */
    public function load()
    {
        return $this->start('bounceinfo');
    }

    /**
     * The active set; else the set Roundcube creates for its filters
     * (managesieve_script_name) if it exists; else none yet. Unlike the
     * filters UI, viewing the page never creates or activates a set.
     */
    protected function load_script($script_name = null)
    {
        $list = (array) $this->list_scripts();
        $name = $this->rc->config->get('managesieve_script_name') ?: 'roundcube';

        if (!empty($this->active)) {
            $this->script_name = $this->active[0];
        }
        else if (in_array($name, $list)) {
            $this->script_name = $name;
        }
        else {
            $this->script_name = null;
            return 0;
        }

        $this->sieve->load($this->script_name);

        return $this->sieve->error();
    }

    /** [class => folder] of the bounce rules in the set. */
    public function bounce_rules()
    {
        return bounceinfo_rules::read($this->script);
    }

    /** The set's name, or null when there is none yet. */
    public function script_name()
    {
        return $this->script_name;
    }

    /**
     * Replace the bounce rules by [class => folder], keep every other rule,
     * save the set (creating it if needed) and activate it if it has
     * bounce rules and is not active. Returns true or false; on false
     * $server_error holds the server's message.
     */
    public function store($selection)
    {
        $this->server_error = '';
        $name = $this->script_name;

        if ($name === null) {
            $name = $this->rc->config->get('managesieve_script_name') ?: 'roundcube';
            $this->sieve->load_script('');
            $this->sieve->current = $name;
        }

        if (!$this->sieve->script) {
            $this->server_error = 'the filter set could not be read';
            return false;
        }

        $content = bounceinfo_rules::merge($this->script, $selection);
        $this->sieve->script->content = $content;

        if (!$this->install($name, $this->sieve->script->as_text())) {
            return false;
        }

        $this->script_name = $name;
        $this->script = $content;

        if (!empty($selection) && !in_array($name, (array) $this->active)) {
            if (!$this->activate_script($name)) {
                $this->server_error = 'the filter set was saved but could not be activated';
                return false;
            }
        }

        return true;
    }

    /**
     * PUTSCRIPT with the server's own error text kept: rcube_sieve::save()
     * only reports "install failed" and the filter UI shows the text in a
     * tooltip at best. Net_Sieve's PEAR_Error carries all of it.
     */
    protected function install($name, $text)
    {
        if ($text === '') {
            $text = '/* empty script */';
        }

        try {
            $prop = new ReflectionProperty('rcube_sieve', 'sieve');
            $prop->setAccessible(true);
            $net_sieve = $prop->getValue($this->sieve);
        }
        catch (ReflectionException $e) {
            $net_sieve = null;
        }

        if (is_object($net_sieve) && method_exists($net_sieve, 'installScript')) {
            $result = $net_sieve->installScript($name, $text);
            if (is_a($result, 'PEAR_Error')) {
                $this->server_error = trim($result->getMessage());
                return false;
            }
            return true;
        }

        // fall back on the public API (only line-numbered errors survive)
        if ($this->sieve->save_script($name, $text)) {
            return true;
        }

        $lines = [];
        foreach ((array) $this->sieve->get_error_lines() as $err) {
            $lines[] = 'line ' . $err['line'] . ':' . $err['msg'];
        }
        $this->server_error = $lines ? implode("\n", $lines) : 'the server refused the filter set';

        return false;
    }
}
