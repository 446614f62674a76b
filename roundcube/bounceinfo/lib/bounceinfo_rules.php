<?php

/**
 * Bounce filing rules in the rule format of Roundcube's managesieve plugin
 * (rcube_sieve_script::$content): one rule per class, an ordinary header
 * test on the trusted X-Bounce-Class header and a fileinto, so that
 * Roundcube's own filter form shows, edits and keeps them.
 *
 * No Roundcube dependency: the phpunit tests run it alone.
 */
class bounceinfo_rules
{
    const HEADER = 'X-Bounce-Class';
    const NAME_PREFIX = 'Bounces: ';

    /** A class token as the mail plugin writes it. */
    public static function valid_class($class)
    {
        return is_string($class) && preg_match('/^[a-z][a-z0-9-]{0,39}$/', $class) === 1;
    }

    /**
     * A folder name the user may give: not empty, no control characters,
     * not too long. Sieve and IMAP check the rest.
     */
    public static function valid_folder($folder)
    {
        return is_string($folder) && $folder !== '' && strlen($folder) <= 255
            && preg_match('//u', $folder) === 1
            && !preg_match('/[\x00-\x1f\x7f]/', $folder)
            && trim($folder) === $folder;
    }

    /**
     * Whether a rule is one of ours: its only test is a positive
     * `header :is "X-Bounce-Class"` and it files into a folder. Matching
     * the shape rather than the name keeps a rule the user renamed.
     */
    public static function is_bounce_rule($rule)
    {
        if (!is_array($rule) || empty($rule['tests']) || count($rule['tests']) != 1) {
            return false;
        }

        $test = $rule['tests'][0];
        if (($test['test'] ?? '') !== 'header' || !empty($test['not'])
            || ($test['type'] ?? 'is') !== 'is'
        ) {
            return false;
        }

        $headers = (array) ($test['arg1'] ?? []);
        if (count($headers) != 1 || strcasecmp($headers[0], self::HEADER) != 0) {
            return false;
        }

        return self::target($rule) !== null;
    }

    /** The folder a rule files into, or null. */
    private static function target($rule)
    {
        foreach ((array) ($rule['actions'] ?? []) as $action) {
            if (($action['type'] ?? '') === 'fileinto' && isset($action['target'])
                && $action['target'] !== ''
            ) {
                return (string) $action['target'];
            }
        }

        return null;
    }

    /**
     * The current choice read from a script: [class => folder] of the
     * enabled bounce rules, first rule winning, as Sieve would.
     */
    public static function read($content)
    {
        $result = [];

        foreach ((array) $content as $rule) {
            if (!self::is_bounce_rule($rule) || !empty($rule['disabled'])) {
                continue;
            }

            $folder = self::target($rule);
            foreach ((array) $rule['tests'][0]['arg2'] as $class) {
                $class = strtolower((string) $class);
                if (self::valid_class($class) && !isset($result[$class])) {
                    $result[$class] = $folder;
                }
            }
        }

        return $result;
    }

    /**
     * The rules for a choice [class => folder], in the given order.
     *
     * @throws InvalidArgumentException on an invalid class or folder
     */
    public static function build($selection)
    {
        $rules = [];

        foreach ((array) $selection as $class => $folder) {
            $class = (string) $class;
            if (!self::valid_class($class)) {
                throw new InvalidArgumentException("invalid bounce class: $class");
            }
            if (!self::valid_folder($folder)) {
                throw new InvalidArgumentException("invalid folder for $class");
            }

            $rules[] = [
                'name'    => self::NAME_PREFIX . $class,
                'type'    => 'if',
                'join'     => false,
                'disabled' => false,
                'tests'   => [[
                    'test' => 'header',
                    'not'  => false,
                    'type' => 'is',
                    'arg1' => self::HEADER,
                    'arg2' => $class,
                ]],
                'actions' => [
                    ['type' => 'fileinto', 'target' => $folder],
                    ['type' => 'stop'],
                ],
            ];
        }

        return $rules;
    }

    /**
     * Replace the bounce rules of a script by those for a new choice,
     * leaving every other rule as it was and in its order. The new rules
     * go where the first old one was, or on top: bounces are filed before
     * the user's other rules see them (a vacation reply to a bounce is
     * never wanted).
     */
    public static function merge($content, $selection)
    {
        $new    = self::build($selection);
        $result = [];
        $placed = false;

        foreach ((array) $content as $rule) {
            if (self::is_bounce_rule($rule)) {
                if (!$placed) {
                    array_push($result, ...$new);
                    $placed = true;
                }
                continue;
            }
            $result[] = $rule;
        }

        if (!$placed) {
            $result = array_merge($new, $result);
        }

        return $result;
    }

    /**
     * Parse "<class> = <text>" lines (the project's explanations/<lang>.txt)
     * into [class => text], in file order.
     */
    public static function parse_explanations($text)
    {
        $result = [];

        foreach (preg_split('/\r?\n/', (string) $text) as $line) {
            $line = trim($line);
            if ($line === '' || $line[0] === '#') {
                continue;
            }
            if (preg_match('/^([a-z][a-z0-9-]*)\s*=\s*(.+)$/', $line, $m)) {
                $result[$m[1]] = $m[2];
            }
        }

        return $result;
    }

    /**
     * Parse the server's default folder table ("<class>\t<folder>" lines,
     * sieve-scripts/folder-map.tsv) into [class => folder].
     */
    public static function parse_folder_map($text)
    {
        $result = [];

        foreach (preg_split('/\r?\n/', (string) $text) as $line) {
            if ($line === '' || $line[0] === '#') {
                continue;
            }
            $parts = explode("\t", $line, 2);
            if (count($parts) == 2 && self::valid_class($parts[0]) && trim($parts[1]) !== '') {
                $result[$parts[0]] = trim($parts[1]);
            }
        }

        return $result;
    }

    /**
     * Split an explanation into what happened (its first sentence) and what
     * to do (the rest); [text, ''] when it is a single sentence.
     */
    public static function split_explanation($text)
    {
        $text = trim((string) $text);
        if (preg_match('/^(.+?[.!?])\s+(\S.*)$/us', $text, $m)) {
            return [$m[1], $m[2]];
        }

        return [$text, ''];
    }
}
