"""Tests of concerto_ir_export.py on the small playbooks in fixtures/.

Run with the venv that has ansible-core (from the repository root):

    .venv/bin/python -m unittest discover -s ansible_plugin/tests -v

Each export runs the program in a subprocess, as a user would: ansible-core
keeps process-wide state (CLI arguments, cached extra vars, the collection
loader), so one process per export is also what keeps the cases apart.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import tempfile
import unittest

from ansible.release import __version__ as ANSIBLE_CORE_VERSION

# The exporter writes what ansible-core's loaded objects hold; where 2.21
# holds another shape than 2.19, the tests expect each version's (the Rust
# comparison normalises those shapes: docs/ir.md, "ansible-core 2.21 /
# Kolla 23").
CORE_2_21 = tuple(int(p) for p in ANSIBLE_CORE_VERSION.split('.')[:2]) >= (2, 21)

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, 'fixtures')
EXPORTER = os.path.join(os.path.dirname(HERE), 'concerto_ir_export.py')
INVENTORY = 'inventory/hosts'


def run_exporter(*args: str, cwd: str = FIXTURES, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, EXPORTER, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


@functools.lru_cache(maxsize=None)
def export(playbook: str, *args: str) -> dict:
    """The IR of a fixture playbook (cached: the fixtures never change)."""
    result = run_exporter(playbook, '-i', INVENTORY, *args)
    if result.returncode != 0:
        raise AssertionError(f'exporter failed ({result.returncode}):\n{result.stderr}')
    return json.loads(result.stdout)


def tasks_of(nodes: list, expanded: bool = True) -> list:
    """Task nodes in execution order (blocks flattened, includes entered)."""
    out = []
    for node in nodes:
        if 'block' in node:
            for section in ('block', 'rescue', 'always'):
                out.extend(tasks_of(node[section], expanded))
        else:
            out.append(node)
            if expanded and 'included' in node:
                out.extend(tasks_of(node['included']['tasks'], expanded))
    return out


def labels(nodes: list) -> list:
    """Names of tasks, `meta:<arg>` for the implicit meta tasks."""
    return [n['task'] or f"{n['action']}:{n['args'].get('_raw_params', '')}" for n in tasks_of(nodes)]


def play_named(doc: dict, name: str) -> dict:
    return next(p for p in doc['plays'] if p['name'] == name)


def task_named(nodes: list, name: str) -> dict:
    return next(n for n in tasks_of(nodes) if n['task'] == name)


def block_named(nodes: list, name: str) -> dict | None:
    for node in nodes:
        if 'block' in node:
            if node['name'] == name:
                return node
            for section in ('block', 'rescue', 'always'):
                found = block_named(node[section], name)
                if found:
                    return found
    return None


class DocumentTest(unittest.TestCase):
    """Top level: version, playbook, import_playbook expanded in place."""

    def setUp(self):
        self.doc = export('site.yml')

    def test_header(self):
        self.assertEqual(self.doc['version'], 1)
        self.assertEqual(self.doc['playbook'], 'site.yml')

    def test_import_playbook_expands_in_place(self):
        self.assertEqual([p['name'] for p in self.doc['plays']], ['', 'Full play'])
        imported = self.doc['plays'][0]
        self.assertEqual(imported['file'], 'imported.yml')
        self.assertEqual(imported['line'], 2)
        self.assertEqual(imported['hosts'], ['db'])
        # import_playbook's tags reach the imported play; play keywords are kept.
        self.assertEqual(imported['keywords'], {'tags': ['db', 'first', 'imported', 'zz'], 'gather_facts': False, 'serial': 1})
        self.assertEqual(labels(imported['tasks']), [
            'meta:flush_handlers', 'ansible.builtin.ping:', 'meta:flush_handlers', 'meta:flush_handlers'])

    def test_values_are_plain_json(self):
        play = play_named(self.doc, 'Full play')
        self.assertEqual(play['keywords']['vars']['phase'], 'deploy')
        self.assertEqual(play['keywords']['vars']['secret'],
                         {'__vault__': '$ANSIBLE_VAULT;1.1;AES256\n6162636465666768\n'})


class PlayTest(unittest.TestCase):
    """A play with pre_tasks, roles (with a dependency), tasks, post_tasks, handlers."""

    def setUp(self):
        self.play = play_named(export('site.yml'), 'Full play')

    def test_play_fields(self):
        self.assertEqual(self.play['file'], 'site.yml')
        self.assertEqual(self.play['line'], 6)
        self.assertEqual(self.play['hosts'], ['web'])
        self.assertEqual(self.play['roles'], ['app'])  # no dependencies
        keywords = self.play['keywords']
        self.assertEqual(keywords['become'], True)
        self.assertEqual(keywords['tags'], ['play'])
        self.assertEqual(keywords['gather_facts'], False)
        self.assertNotIn('strategy', keywords)  # default

    def test_compile_order(self):
        self.assertEqual(labels(self.play['tasks']), [
            'Pre task with k=v args',
            'meta:flush_handlers',
            'Common task',                   # dependency first
            'meta:role_complete',
            'Include tasks for mode {{ app_mode }}',
            'App task',
            'meta:role_complete',
            'In block', 'Deep task', 'In rescue', 'In always',
            'Local action', 'Loop with_items',
            'Imported task',                 # import_tasks: loaded in place
            'Dynamic include',               # include_tasks: one node
            'meta:flush_handlers',
            'Post task', 'Async task',
            'meta:flush_handlers',
        ])

    def test_handlers_roles_first(self):
        self.assertEqual(labels(self.play['handlers']), ['app handler', 'restart thing'])
        restart = task_named(self.play['handlers'], 'restart thing')
        self.assertEqual(restart['keywords']['listen'], ['restart all'])
        self.assertEqual(task_named(self.play['handlers'], 'app handler')['role'], 'app')

    def test_implicit_blocks_are_kept(self):
        first = self.play['tasks'][0]
        self.assertEqual(set(first), {'block', 'rescue', 'always', 'file', 'line', 'name', 'role', 'keywords'})
        self.assertEqual(first['name'], '')
        self.assertIsNone(first['file'])
        self.assertEqual([n['task'] for n in first['block']], ['Pre task with k=v args'])

    def test_role_dependency_inherits_role_tags(self):
        common = task_named(self.play['tasks'], 'Common task')
        self.assertEqual(common['role'], 'common')
        self.assertEqual(common['file'], 'roles/common/tasks/main.yml')
        self.assertEqual(common['line'], 2)
        self.assertEqual(common['keywords']['tags'], ['approle', 'common', 'play'])
        self.assertEqual(common['keywords']['become'], True)

    def test_block_rescue_always_and_inheritance(self):
        block = block_named(self.play['tasks'], 'A block')
        self.assertEqual((block['file'], block['line']), ('site.yml', 23))
        self.assertEqual(block['keywords']['when'], ["phase == 'deploy'"])
        self.assertEqual(block['keywords']['become_user'], 'admin')
        self.assertEqual([n['task'] for n in block['rescue']], ['In rescue'])
        self.assertEqual([n['task'] for n in block['always']], ['In always'])
        deep = task_named(self.play['tasks'], 'Deep task')
        self.assertEqual(deep['keywords']['when'], ["phase == 'deploy'"])
        self.assertEqual(deep['keywords']['tags'], ['nested', 'play'])
        self.assertEqual(deep['keywords']['become_user'], 'admin')
        in_block = task_named(self.play['tasks'], 'In block')
        # 2.21's Task._validate_register makes `register: out` a register
        # projection of the task's result
        self.assertEqual(in_block['keywords']['register'],
                         {'out': '_task.polymorphic_result'} if CORE_2_21 else 'out')
        self.assertEqual(in_block['args'], {'_raw_params': 'echo {{ phase }}'})

    def test_kv_args_are_split(self):
        task = task_named(self.play['tasks'], 'Pre task with k=v args')
        self.assertEqual(task['action'], 'ansible.builtin.debug')
        self.assertEqual(task['args'], {'msg': 'hello', 'verbosity': '1'})
        self.assertEqual((task['file'], task['line']), ('site.yml', 17))

    def test_local_action(self):
        task = task_named(self.play['tasks'], 'Local action')
        self.assertEqual(task['action'], 'ansible.builtin.command')
        self.assertEqual(task['args'], {'_raw_params': 'echo local'})
        self.assertEqual(task['keywords']['delegate_to'], 'localhost')

    def test_with_items(self):
        keywords = task_named(self.play['tasks'], 'Loop with_items')['keywords']
        self.assertEqual(keywords['loop'], ['a', 'b'])
        self.assertEqual(keywords['loop_with'], 'items')
        self.assertEqual(keywords['loop_control'], {'label': '{{ item }}'})

    def test_other_keywords(self):
        keywords = task_named(self.play['tasks'], 'Async task')['keywords']
        self.assertEqual(keywords['async'], 30)
        self.assertEqual(keywords['poll'], 0)
        self.assertEqual(keywords['ignore_errors'], True)
        self.assertEqual(keywords['environment'], [{'LANG': 'C'}])
        # 2.19's Task._validate_changed_when makes a single condition a list
        # at load; 2.21 has no such validator (post_validate still does it)
        self.assertEqual(keywords['changed_when'], False if CORE_2_21 else [False])
        post = task_named(self.play['tasks'], 'Post task')
        self.assertEqual(post['keywords']['notify'], 'restart thing')
        self.assertNotIn('environment', post['keywords'])

    def test_import_versus_include(self):
        imported = task_named(self.play['tasks'], 'Imported task')
        self.assertEqual(imported['file'], 'tasks/static.yml')
        # the import's when/tags are inherited by what it imported
        self.assertEqual(imported['keywords']['when'], ['phase is defined'])
        self.assertEqual(imported['keywords']['tags'], ['imp', 'play'])
        include = task_named(self.play['tasks'], 'Dynamic include')
        self.assertEqual(include['action'], 'ansible.builtin.include_tasks')
        self.assertEqual(include['args'], {'_raw_params': 'tasks/dynamic.yml'})
        self.assertEqual(include['keywords']['when'], ['phase is defined'])
        self.assertNotIn('included', include)  # only with --expand

    def test_implicit_tasks_have_no_position(self):
        flush = [n for n in tasks_of(self.play['tasks']) if n['args'].get('_raw_params') == 'flush_handlers']
        self.assertEqual(len(flush), 3)
        for node in flush:
            self.assertEqual((node['action'], node['file'], node['line'], node['role']), ('meta', None, None, None))
            self.assertIn('always', node['keywords']['tags'])


class ExpandTest(unittest.TestCase):
    """--expand: includes whose name is static are loaded, others get candidates."""

    def test_role_include_resolved_from_role_defaults(self):
        play = play_named(export('site.yml', '--expand'), 'Full play')
        include = task_named(play['tasks'], 'Include tasks for mode {{ app_mode }}')
        self.assertEqual(include['included']['file'], 'roles/app/tasks/deploy.yml')
        inner = tasks_of(include['included']['tasks'])
        self.assertEqual([n['task'] for n in inner], ['App deploy task'])
        self.assertEqual(inner[0]['role'], 'app')

    def test_dynamic_include_does_not_pass_its_own_tags(self):
        play = play_named(export('site.yml', '--expand'), 'Full play')
        include = task_named(play['tasks'], 'Dynamic include')
        self.assertEqual(include['included']['file'], 'tasks/dynamic.yml')
        inner = task_named(include['included']['tasks'], 'Dynamically included task')
        # ansible: an include_tasks' own when/tags apply to the include, not
        # to the tasks it loads (those inherit from the include's parents).
        self.assertEqual(inner['keywords']['tags'], ['play'])
        self.assertNotIn('when', inner['keywords'])

    def test_templated_include_resolved_by_extra_var(self):
        play = play_named(export('expand.yml', '--expand', '-e', 'step=deploy'), 'Expansion play')
        include = task_named(play['tasks'], 'Include resolved by extra vars')
        self.assertEqual(include['included']['file'], 'tasks/deploy.yml')
        self.assertEqual([n['task'] for n in tasks_of(include['included']['tasks'])], ['Deploy task'])
        # `when: false` does not prevent expansion, and stays recorded
        self.assertEqual(include['keywords']['when'], [False])

    def test_looped_include_is_expanded(self):
        # its fake result is a loop result (2.19: `results`, 2.21: `loop_results`)
        play = play_named(export('expand.yml', '--expand', '-e', 'step=deploy'), 'Expansion play')
        include = task_named(play['tasks'], 'Looped include with a static name')
        self.assertEqual(include['keywords']['loop'], ['a', 'b'])
        self.assertEqual(include['included']['file'], 'tasks/dynamic.yml')
        self.assertEqual([n['task'] for n in tasks_of(include['included']['tasks'])],
                         ['Dynamically included task'])

    def test_extra_vars_from_file(self):
        play = play_named(export('expand.yml', '--expand', '-e', '@vars/extra.yml'), 'Expansion play')
        include = task_named(play['tasks'], 'Include resolved by extra vars')
        self.assertEqual(include['included']['file'], 'tasks/upgrade.yml')

    def test_undefined_variable_gives_candidates(self):
        play = play_named(export('expand.yml', '--expand'), 'Expansion play')
        include = task_named(play['tasks'], 'Include resolved by extra vars')
        self.assertNotIn('included', include)
        self.assertIn('tasks/deploy.yml', include['candidates'])
        self.assertIn('tasks/upgrade.yml', include['candidates'])

    def test_fact_dependent_include_gives_candidates(self):
        play = play_named(export('expand.yml', '--expand', '-e', 'step=deploy'), 'Expansion play')
        include = task_named(play['tasks'], 'Include depending on a fact')
        self.assertNotIn('included', include)
        self.assertEqual(include['candidates'], sorted(
            f'tasks/{f}' for f in os.listdir(os.path.join(FIXTURES, 'tasks'))))

    def test_include_role_named_by_inventory_group_vars(self):
        play = play_named(export('expand.yml', '--expand', '-e', 'step=deploy'), 'Expansion play')
        include = task_named(play['tasks'], 'Include role named by inventory group vars')
        self.assertEqual(include['included']['file'], 'roles/web_extra/tasks/main.yml')
        inner = tasks_of(include['included']['tasks'])
        self.assertEqual([n['task'] or n['args']['_raw_params'] for n in inner], ['Web extra task', 'role_complete'])
        self.assertEqual(inner[0]['role'], 'web_extra')

    def test_include_role_brings_its_handlers(self):
        play = play_named(export('expand.yml', '--expand', '-e', 'step=deploy'), 'Expansion play')
        include = task_named(play['tasks'], 'Include role with handlers')
        self.assertEqual(include['action'], 'include_role')
        self.assertEqual(labels(include['included']['handlers']), ['dyn handler'])
        self.assertEqual(play['handlers'], [])  # the play's static handlers stay as loaded

    def test_registered_result_gives_role_candidates(self):
        play = play_named(export('expand.yml', '--expand', '-e', 'step=deploy'), 'Expansion play')
        include = task_named(play['tasks'], 'Include role named by a registered result')
        self.assertEqual(include['candidates'], [
            'roles/app/tasks/main.yml', 'roles/common/tasks/main.yml',
            'roles/dyn/tasks/main.yml', 'roles/web_extra/tasks/main.yml'])

    def test_loop_variable_name_gives_candidates_from_loop_terms(self):
        play = play_named(export('expand.yml', '--expand'), 'Expansion play')
        include = task_named(play['tasks'], 'Include named by a first_found loop')
        # term 1 needs a fact: a pattern (tasks/dep*.yml); term 2 renders: tasks/upgrade.yml
        self.assertEqual(include['candidates'], ['tasks/deploy.yml', 'tasks/upgrade.yml'])

    def test_include_apply_reaches_included_tasks(self):
        play = play_named(export('expand.yml', '--expand'), 'Expansion play')
        include = task_named(play['tasks'], 'Include with apply')
        self.assertEqual(include['args']['_raw_params'], 'tasks/dynamic.yml')  # `file:` normalised
        inner = task_named(include['included']['tasks'], 'Dynamically included task')
        self.assertEqual(inner['keywords'], {'tags': ['applied'], 'become': True})

    def test_include_role_with_fact_in_a_keyword_still_expands(self):
        play = play_named(export('expand.yml', '--expand'), 'Expansion play')
        include = task_named(play['tasks'], 'Include role with a fact in another keyword')
        self.assertEqual(include['keywords']['run_once'], "{{ ansible_facts['is_chroot'] }}")
        self.assertEqual(include['included']['file'], 'roles/dyn/tasks/main.yml')

    def test_play_on_runtime_group_uses_group_all_vars(self):
        play = play_named(export('expand.yml', '--expand'), 'Play on a group made at run time')
        include = task_named(play['tasks'], 'Include named by group all vars')
        self.assertEqual(include['included']['file'], 'tasks/deploy.yml')

    def test_runtime_intersection_is_dropped_to_find_a_host(self):
        play = play_named(export('expand.yml', '--expand'), 'Play intersecting with a group made at run time')
        self.assertEqual(play['hosts'], ['web', '&made_by_group_by'])
        include = task_named(play['tasks'], 'Include role named by web group vars')
        self.assertEqual(include['included']['file'], 'roles/web_extra/tasks/main.yml')

    def test_include_loop_is_cut(self):
        play = play_named(export('expand.yml', '--expand', '-e', 'step=deploy'), 'Expansion play')
        include = task_named(play['tasks'], 'Include that includes itself')
        self.assertEqual(include['included']['file'], 'tasks/loop.yml')
        again = task_named(include['included']['tasks'], 'Self include')
        self.assertEqual(again.get('loop'), True)
        self.assertNotIn('included', again)

    def test_without_expand_nothing_is_added(self):
        play = play_named(export('expand.yml', '-e', 'step=deploy'), 'Expansion play')
        for node in tasks_of(play['tasks']):
            self.assertFalse({'included', 'candidates', 'loop', 'error'} & set(node))


class CommandLineTest(unittest.TestCase):
    """Exit codes and output file."""

    def test_output_file(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, 'ir.json')
            result = run_exporter('site.yml', '-i', INVENTORY, '-o', out)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(result.stdout, '')
            with open(out, encoding='utf-8') as f:
                self.assertEqual(json.load(f), export('site.yml'))

    def test_output_does_not_depend_on_hash_seed(self):
        # import_playbook builds play tags from a set: the IR sorts tags
        outputs = set()
        for seed in ('1', '2', '3'):
            result = run_exporter('site.yml', '-i', INVENTORY, '--expand',
                                  env=dict(os.environ, PYTHONHASHSEED=seed))
            self.assertEqual(result.returncode, 0, result.stderr)
            outputs.add(result.stdout)
        self.assertEqual(len(outputs), 1)

    def test_playbook_ansible_refuses_is_an_error(self):
        result = run_exporter('broken.yml', '-i', INVENTORY)
        self.assertEqual(result.returncode, 1)
        self.assertIn('include', result.stderr)
        self.assertEqual(result.stdout, '')

    def test_import_cycle_is_an_error_not_a_traceback(self):
        result = run_exporter('import_loop.yml', '-i', INVENTORY)
        self.assertEqual(result.returncode, 1)
        self.assertIn('recursion', result.stderr)
        self.assertNotIn('Traceback', result.stderr)

    def test_relative_paths_from_another_directory(self):
        result = run_exporter(os.path.join(FIXTURES, 'site.yml'), '-i', os.path.join(FIXTURES, INVENTORY),
                              cwd=tempfile.gettempdir())
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(json.loads(result.stdout), export('site.yml'))


class PlainJsonTest(unittest.TestCase):
    """to_plain_json on values as ansible-core 2.19's loader returns them."""

    def test_tagged_values(self):
        sys.path.insert(0, os.path.dirname(EXPORTER))
        try:
            import concerto_ir_export as exporter
        finally:
            sys.path.pop(0)
        from ansible.parsing.dataloader import DataLoader

        data = DataLoader().load(
            'a: text\nb: 3\nc: [1.5, yes, null]\nd: !unsafe "{{ x }}"\n'
            'e: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  3031\n')
        plain = exporter.to_plain_json(data)
        self.assertEqual(plain, {'a': 'text', 'b': 3, 'c': [1.5, True, None], 'd': '{{ x }}',
                                 'e': {'__vault__': '$ANSIBLE_VAULT;1.1;AES256\n3031\n'}})
        self.assertIs(type(plain['a']), str)
        self.assertIs(type(plain['b']), int)
        self.assertEqual(exporter.to_plain_json({'s': {'b', 'a'}}), {'s': ['a', 'b']})


if __name__ == '__main__':
    unittest.main()


class ReachTest(unittest.TestCase):
    """`targets` and `when_result` (`--expand`), on the translator's corpus
    case `reach` (its snapshot holds our side)."""

    @classmethod
    def setUpClass(cls):
        case = os.path.join(os.path.dirname(__file__), '..', '..', 'translator', 'tests',
                            'playbook_corpus', 'reach')
        result = run_exporter(os.path.join(case, 'site.yml'), '-i', 'localhost,', '--expand',
                              '-e', '@' + os.path.join(case, 'extra_vars.yml'))
        if result.returncode != 0:
            raise AssertionError(result.stderr)
        cls.doc = json.loads(result.stdout)

    def when(self, play: str, task: str):
        return task_named(play_named(self.doc, play)['tasks'], task).get('when_result', 'absent')

    def test_group_by_makes_the_groups_later_plays_target(self):
        self.assertEqual(play_named(self.doc, 'Web (enabled)')['targets'], ['localhost'])
        self.assertEqual(play_named(self.doc, 'Database (disabled)')['targets'], [])

    def test_conditions_known_before_anything_runs(self):
        self.assertIs(self.when('Conditions', 'Known true from -e'), True)
        self.assertIs(self.when('Conditions', 'Known false from -e'), False)
        self.assertIs(self.when('Conditions', 'Magic variables'), True)
        self.assertEqual(self.when('Conditions', 'Registers a result'), 'absent')

    def test_loops_any_item_all_items_empty(self):
        self.assertIs(self.when('Conditions', 'Any item enabled'), True)
        self.assertIs(self.when('Conditions', 'No item enabled'), False)
        self.assertIs(self.when('Conditions', 'Empty loop'), False)

    def test_run_time_data_is_unknown(self):
        self.assertIsNone(self.when('Conditions', 'Depends on a registered result'))
        self.assertIsNone(self.when('Conditions', 'Facts are run-time data'))
