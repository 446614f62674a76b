<?php

/**
 * phpunit tests of the rule generator (lib/bounceinfo_rules.php), also
 * through Roundcube's own Sieve script parser and writer
 * (rcube_sieve_script of the managesieve plugin, when installed).
 *
 * Run: phpunit roundcube/bounceinfo/tests
 */

use PHPUnit\Framework\TestCase;

require_once __DIR__ . '/../lib/bounceinfo_rules.php';

class BounceinfoRulesTest extends TestCase
{
    const SIEVE_SCRIPT = '/usr/share/roundcube/plugins/managesieve/lib/Roundcube/rcube_sieve_script.php';

    private static function user_rule($name = 'Newsletter')
    {
        return [
            'name'    => $name,
            'type'    => 'if',
            'tests'   => [['test' => 'header', 'not' => false, 'type' => 'contains',
                           'arg1' => 'subject', 'arg2' => 'newsletter']],
            'actions' => [['type' => 'fileinto', 'target' => 'News']],
        ];
    }

    public function testBuildMakesOneHeaderRulePerClass()
    {
        $rules = bounceinfo_rules::build(['quota' => 'Bounces/Mailbox full', 'user-unknown' => 'Gone']);

        $this->assertCount(2, $rules);
        $this->assertSame('Bounces: quota', $rules[0]['name']);
        $this->assertSame('header', $rules[0]['tests'][0]['test']);
        $this->assertSame('is', $rules[0]['tests'][0]['type']);
        $this->assertSame('X-Bounce-Class', $rules[0]['tests'][0]['arg1']);
        $this->assertSame('quota', $rules[0]['tests'][0]['arg2']);
        $this->assertSame(['type' => 'fileinto', 'target' => 'Bounces/Mailbox full'], $rules[0]['actions'][0]);
        $this->assertSame('stop', $rules[0]['actions'][1]['type']);
        $this->assertSame('Gone', $rules[1]['actions'][0]['target']);
    }

    public function testBuildRejectsBadClassOrFolder()
    {
        foreach ([['Quota' => 'X'], ['quo"ta' => 'X'], ['' => 'X'], ['quota' => ''],
                  ['quota' => "A\nB"], ['quota' => ' lead'], ['quota' => "\xff\xfe"]] as $bad) {
            try {
                bounceinfo_rules::build($bad);
                $this->fail('accepted ' . json_encode(array_map('bin2hex', $bad)));
            }
            catch (InvalidArgumentException $e) {
                $this->assertNotEmpty($e->getMessage());
            }
        }
    }

    public function testMergeKeepsOtherRulesAndReplacesOurs()
    {
        $content = array_merge([self::user_rule('First')],
            bounceinfo_rules::build(['quota' => 'Old/Quota', 'spam' => 'Old/Spam']),
            [self::user_rule('Last')]);

        $merged = bounceinfo_rules::merge($content, ['user-unknown' => 'Bounces/Gone']);

        $this->assertSame(['First', 'Bounces: user-unknown', 'Last'], array_column($merged, 'name'));
        $this->assertSame(['user-unknown' => 'Bounces/Gone'], bounceinfo_rules::read($merged));
        $this->assertSame(self::user_rule('First'), $merged[0]);
        $this->assertSame(self::user_rule('Last'), $merged[2]);
    }

    public function testMergePutsNewRulesOnTopAndEmptyChoiceRemovesThem()
    {
        $merged = bounceinfo_rules::merge([self::user_rule()], ['quota' => 'Q']);
        $this->assertSame(['Bounces: quota', 'Newsletter'], array_column($merged, 'name'));

        $cleared = bounceinfo_rules::merge($merged, []);
        $this->assertSame([self::user_rule()], $cleared);
    }

    public function testReadRecognisesRulesByShapeNotName()
    {
        $rule = bounceinfo_rules::build(['quota' => 'Q'])[0];
        $rule['name'] = 'renamed by the user';
        $rule['tests'][0]['arg1'] = 'x-bounce-class';
        $this->assertSame(['quota' => 'Q'], bounceinfo_rules::read([$rule]));

        // a negated test, another header, another match type or a second
        // test is the user's own rule
        foreach ([['not', true], ['arg1', 'X-Bounce-Severity'], ['type', 'contains']] as $change) {
            $other = bounceinfo_rules::build(['quota' => 'Q'])[0];
            $other['tests'][0][$change[0]] = $change[1];
            $this->assertFalse(bounceinfo_rules::is_bounce_rule($other), $change[0]);
        }
        $two = bounceinfo_rules::build(['quota' => 'Q'])[0];
        $two['tests'][] = $two['tests'][0];
        $this->assertFalse(bounceinfo_rules::is_bounce_rule($two));

        // disabled rules are not a current choice; the first rule wins
        $disabled = bounceinfo_rules::build(['quota' => 'Q'])[0];
        $disabled['disabled'] = true;
        $this->assertSame([], bounceinfo_rules::read([$disabled]));
        $rules = array_merge(bounceinfo_rules::build(['quota' => 'A']), bounceinfo_rules::build(['quota' => 'B']));
        $this->assertSame(['quota' => 'A'], bounceinfo_rules::read($rules));
    }

    public function testRoundTripThroughRoundcubeSieveScript()
    {
        if (!is_readable(self::SIEVE_SCRIPT)) {
            $this->markTestSkipped('Roundcube managesieve plugin not installed');
        }
        require_once self::SIEVE_SCRIPT;

        $user = "require [\"fileinto\"];\r\n# rule:[Newsletter]\r\nif header :contains \"subject\" \"newsletter\"\r\n{\r\n\tfileinto \"News\";\r\n}\r\n";
        $script = new rcube_sieve_script($user, ['fileinto']);
        $selection = ['quota' => 'Bounces/Mailbox full', 'user-unknown' => 'Bounces/Unknown "recipient"'];
        $script->content = bounceinfo_rules::merge($script->content, $selection);
        $text = $script->as_text();

        $this->assertStringContainsString('header :is "X-Bounce-Class" "quota"', $text);
        $this->assertStringContainsString('fileinto "Bounces/Unknown \\"recipient\\""', $text);
        $this->assertStringContainsString('# rule:[Newsletter]', $text);

        // what Roundcube's filter form editor reads back
        $again = new rcube_sieve_script($text, ['fileinto']);
        $this->assertSame($selection, bounceinfo_rules::read($again->content));
        $names = array_column($again->content, 'name');
        $this->assertSame(['Bounces: quota', 'Bounces: user-unknown', 'Newsletter'], $names);
    }

    public function testParseExplanationsAndFolderMap()
    {
        $ex = bounceinfo_rules::parse_explanations("# c\n\nquota = Full. Wait.\nbad line\nuser-unknown=No such user.\n");
        $this->assertSame(['quota' => 'Full. Wait.', 'user-unknown' => 'No such user.'], $ex);

        $map = bounceinfo_rules::parse_folder_map("# class\tfolder\nquota\tMailbox full\nBAD\tx\nspam\t\n");
        $this->assertSame(['quota' => 'Mailbox full'], $map);

        $this->assertSame(['Full.', 'Wait a bit.'], bounceinfo_rules::split_explanation('Full. Wait a bit.'));
        $this->assertSame(['One sentence', ''], bounceinfo_rules::split_explanation('One sentence'));
    }

    /** Every shipped explanations file parses and covers the same classes. */
    public function testShippedDataParses()
    {
        $top = dirname(__DIR__, 3);
        $en = bounceinfo_rules::parse_explanations(file_get_contents("$top/explanations/en.txt"));
        $this->assertArrayHasKey('quota', $en);
        foreach (['pl', 'ru', 'cs', 'de', 'fr', 'es'] as $lang) {
            $texts = bounceinfo_rules::parse_explanations(file_get_contents("$top/explanations/$lang.txt"));
            $this->assertSame(array_keys($en), array_keys($texts), $lang);
        }
        $map = bounceinfo_rules::parse_folder_map(file_get_contents("$top/sieve-scripts/folder-map.tsv"));
        $this->assertSame('Mailbox full', $map['quota']);
    }
}
