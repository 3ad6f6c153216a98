#!/usr/bin/env python3
"""Export an Ansible playbook as the playbook IR of docs/ir.md.

This is the *oracle* of the Rust translator: it loads the playbook with
ansible-core's own machinery (the same DataLoader / InventoryManager /
VariableManager / Playbook.load / Play.compile that ansible-playbook uses)
and writes what ansible-core built, so that the Rust reading of the same
playbook can be compared with it.

    python concerto_ir_export.py PLAYBOOK -i INVENTORY [-e k=v | -e @f.yml ...]
                                 [--expand] [-o out.json]

Nothing is run and no host is contacted: only loading and (with --expand)
templating of include names over the variables known before any task runs.
"""

from __future__ import annotations

import argparse
import datetime
import glob
import inspect
import json
import os
import re
import sys
import typing as t
from collections.abc import Mapping

from ansible import constants as C
from ansible import context as ansible_context
from ansible._internal._datatag._tags import Origin, TrustedAsTemplate
from ansible._internal._templating._engine import TemplateEngine
from ansible.cli import CLI
from ansible.errors import AnsibleError
from ansible.inventory.host import Host
from ansible.inventory.manager import InventoryManager
from ansible.module_utils.common.sentinel import Sentinel
from ansible.parsing.dataloader import DataLoader
from ansible.parsing.vault import EncryptedString
from ansible.playbook import Playbook
from ansible.playbook.base import FieldAttributeBase
from ansible.playbook.block import Block
from ansible.playbook.handler import Handler
from ansible.playbook.included_file import IncludedFile
from ansible.plugins.loader import add_all_plugin_dirs, init_plugin_loader
from ansible.plugins.strategy import StrategyBase
from ansible.utils.collection_loader import AnsibleCollectionConfig
from ansible.vars.manager import VariableManager

# The result of a task as the strategy hands it to
# IncludedFile.process_include_results changed shape in ansible-core 2.21:
# 2.19 has `_RawTaskResult(host, task, return_data, task_fields)` over a
# plain dict; 2.21 has `HostTaskResult(host, task, utr)` over a
# `UnifiedTaskResult` dataclass (include_file, include_args, loop_results).
try:
    from ansible._internal._task import HostTaskResult, UnifiedTaskResult
except ImportError:  # ansible-core 2.19
    HostTaskResult = UnifiedTaskResult = None
    from ansible.executor.task_result import _RawTaskResult

IR_VERSION = 1

# Keywords compared on every node (docs/ir.md, "Keywords"), in output order.
NODE_KEYWORDS = (
    'when', 'tags', 'loop', 'loop_with', 'loop_control', 'register', 'notify',
    'listen', 'delegate_to', 'delegate_facts', 'run_once', 'become',
    'become_user', 'become_method', 'vars', 'until', 'retries', 'delay',
    'changed_when', 'failed_when', 'ignore_errors', 'ignore_unreachable',
    'throttle', 'check_mode', 'diff', 'no_log', 'environment',
    'any_errors_fatal', 'module_defaults', 'timeout', 'async', 'poll',
    'connection', 'port', 'remote_user',
)

# Keywords only plays have.
PLAY_KEYWORDS = (
    'gather_facts', 'serial', 'strategy', 'max_fail_percentage',
    'force_handlers', 'vars_files', 'vars_prompt', 'order',
)

# IR keyword name -> ansible attribute name, where they differ.
ATTRIBUTE_OF_KEYWORD = {'async': 'async_val'}

# Keywords whose value is a set in ansible's semantics: written sorted.
SET_VALUED_KEYWORDS = frozenset({'tags'})

# Keywords reported by presence only.
PRESENCE_ONLY_KEYWORDS = frozenset({'vars_prompt'})

# Safety net beyond the explicit include-loop guard.
MAX_INCLUDE_DEPTH = 40

JINJA_EXPRESSION = re.compile(r'{{.*?}}|{%.*?%}', re.DOTALL)


# ---------------------------------------------------------------------------
# Plain JSON values
# ---------------------------------------------------------------------------

def to_plain_json(value: t.Any) -> t.Any:
    """Turn a value loaded by ansible-core into plain JSON.

    ansible-core 2.19 wraps loaded data in tagged subclasses of str/int/
    dict/list (carrying origin and trust tags), `!vault` values are
    EncryptedString objects that must not be decrypted, and some attributes
    hold objects (LoopControl) or sets. The IR wants values "as YAML loads
    them", so every one of those is reduced to its plain JSON counterpart.
    """
    if value is None or value is Sentinel:
        return None
    if isinstance(value, EncryptedString):
        return {'__vault__': str.__str__(value._ciphertext)}
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, str):
        return str.__str__(value)      # drops the tagged subclass
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, bytes):
        return value.decode('utf-8', errors='replace')
    if isinstance(value, (datetime.date, datetime.datetime, datetime.time)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(to_plain_json(k)): to_plain_json(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return _sorted_unique(to_plain_json(list(value)))
    if isinstance(value, (list, tuple)):
        return [to_plain_json(v) for v in value]
    if isinstance(value, FieldAttributeBase):
        # e.g. LoopControl: report the mapping it was loaded from.
        ds = value.get_ds()
        return to_plain_json(ds) if ds is not None else {}
    return str(value)


def _sorted_unique(values: list) -> list:
    """A set of JSON values as a deterministic list (tags may mix str and int)."""
    by_key = {(type(v).__name__, json.dumps(v, sort_keys=True)): v for v in values}
    return [by_key[k] for k in sorted(by_key)]


# ---------------------------------------------------------------------------
# Setting ansible-core up like ansible-playbook does
# ---------------------------------------------------------------------------

class AnsibleSetup(t.NamedTuple):
    loader: t.Any
    inventory: t.Any
    variable_manager: t.Any


def init_ansible(playbook: str, inventory_sources: list[str], extra_vars: list[str]) -> AnsibleSetup:
    """Build loader, inventory and variable manager as ansible-playbook would.

    ansible-playbook parses its options into context.CLIARGS, from which
    VariableManager reads the extra vars (`load_extra_vars`). Only the
    options loading needs are set: the CLI-deferred keyword defaults
    (become, check, diff, connection, ...) stay None, so a keyword written
    in the playbook always differs from its default and is reported.
    """
    ansible_context._init_global_context(argparse.Namespace(
        extra_vars=tuple(extra_vars),
        inventory=tuple(inventory_sources),
        args=(playbook,),
        tags=(), skip_tags=(), subset=None,
        listhosts=False, listtasks=False, listtags=False, syntax=False,
        forks=1, verbosity=0,
    ))
    init_plugin_loader([])

    playbook_dir = os.path.dirname(os.path.abspath(playbook))
    add_all_plugin_dirs(playbook_dir)
    AnsibleCollectionConfig.playbook_paths = [playbook_dir]

    loader = DataLoader()
    inventory = InventoryManager(loader=loader, sources=list(inventory_sources))
    variable_manager = VariableManager(loader=loader, inventory=inventory,
                                       version_info=CLI.version_info(gitinfo=False))
    return AnsibleSetup(loader, inventory, variable_manager)


# ---------------------------------------------------------------------------
# Positions and paths
# ---------------------------------------------------------------------------

class PathStyle:
    """Writes paths relative to the playbook's directory when inside it.

    ansible-core records absolute (sometimes symlink-resolved) paths in the
    Origin tags; both forms of the playbook directory are tried so that a
    file under it is always written relative.
    """

    def __init__(self, playbook: str) -> None:
        self.dirs = []
        for d in (os.path.dirname(os.path.abspath(playbook)),
                  os.path.dirname(os.path.realpath(playbook))):
            if d not in self.dirs:
                self.dirs.append(d)

    def show(self, path: str | None) -> str | None:
        if not path:
            return None
        path = os.path.normpath(os.path.abspath(str(path)))
        for candidate in (path, os.path.realpath(path)):
            for d in self.dirs:
                if candidate == d or candidate.startswith(d + os.sep):
                    return os.path.relpath(candidate, d)
        return path


def position_of(obj: t.Any) -> tuple[str | None, int | None]:
    """File and 1-based line of the mapping that defined `obj`.

    ansible-core 2.19 no longer has `ansible_pos`: loaded objects carry an
    Origin tag (`obj._origin`, taken from their data structure). Implicit
    objects (implicit blocks, flush_handlers, role_complete) have none.
    """
    origin = getattr(obj, '_origin', None)
    if origin is None:
        ds = obj.get_ds() if hasattr(obj, 'get_ds') else None
        origin = Origin.get_tag(ds) if ds is not None else None
    if origin is None or not origin.path:
        return None, None
    return origin.path, origin.line_num


# ---------------------------------------------------------------------------
# Keywords
# ---------------------------------------------------------------------------

def attribute_default(attribute: t.Any) -> t.Any:
    """The value the attribute getter returns when nothing is set."""
    default = attribute.default
    return default() if callable(default) else default


def _is_empty(value: t.Any) -> bool:
    return value is None or (isinstance(value, (list, dict)) and not value)


def keywords_of(obj: t.Any, names: t.Iterable[str]) -> dict[str, t.Any]:
    """Keywords of `obj` whose inherited value differs from the default.

    Values are read through ansible's attribute getters, so `when`/`tags`
    come extended with the parents' and `become`, `environment`, ... with
    the nearest value set (block, include, role, dependency chain, play).
    Only the attributes the object's class has are considered.
    """
    fattributes = type(obj).fattributes
    result: dict[str, t.Any] = {}
    for name in names:
        attr_name = ATTRIBUTE_OF_KEYWORD.get(name, name)
        attribute = fattributes.get(attr_name)
        if attribute is None:
            continue
        if attribute.isa == 'class':
            # e.g. loop_control: the default is a fresh object, compare "set".
            value = getattr(obj, f'_{attr_name}', Sentinel)
            if value is Sentinel or value is None:
                continue
        else:
            value = getattr(obj, attr_name)
            default = attribute_default(attribute)
            if value == default or (_is_empty(value) and _is_empty(default)):
                # Extendable keywords (environment, module_defaults) come
                # back as [] from the getter when nothing is set anywhere.
                continue
        if name in PRESENCE_ONLY_KEYWORDS:
            result[name] = True
        elif name in SET_VALUED_KEYWORDS:
            result[name] = _sorted_unique(to_plain_json(value if isinstance(value, list) else [value]))
        else:
            result[name] = to_plain_json(value)
    return result


# ---------------------------------------------------------------------------
# Hosts a play targets (for variables in --expand)
# ---------------------------------------------------------------------------

def host_patterns(play: t.Any) -> list[str]:
    """The play's `hosts:` as a list of patterns, as written."""
    hosts = play.hosts
    if hosts is None:
        return []
    if isinstance(hosts, (list, tuple)):
        return [to_plain_json(h) for h in hosts]
    return [to_plain_json(hosts)]


def first_host(play: t.Any, setup: AnsibleSetup) -> t.Any:
    """The host whose variables --expand templates include names with.

    This is the first inventory host the play's pattern matches. Patterns
    often intersect with groups that only exist at run time (`group_by`,
    `add_host`: Kolla's `&enable_keystone_True`); when nothing matches,
    those unknown `&`/`!` groups are dropped and the match is retried.
    Returns None when the play targets no inventory host at all.
    """
    try:
        templar = TemplateEngine(loader=setup.loader,
                                 variables=setup.variable_manager.get_vars(play=play))
        patterns = [str(p) for p in templar.template(host_patterns(play))]
    except AnsibleError:  # an untemplatable pattern targets no known host
        return None
    hosts = setup.inventory.get_hosts(patterns)
    if not hosts:
        known = setup.inventory.groups
        kept = []
        for pattern in ','.join(patterns).split(','):
            pattern = pattern.strip()
            if pattern[:1] in ('&', '!') and pattern[1:] not in known:
                continue
            if pattern:
                kept.append(pattern)
        hosts = setup.inventory.get_hosts(kept) if kept else []
    return hosts[0] if hosts else None


STAND_IN_HOST = '__concerto_static__'


def stand_in_host(setup: AnsibleSetup) -> t.Any:
    """A host outside the inventory, member of `all` only.

    Used when a play targets no inventory host (its groups are made at run
    time): its variables are those every host has (group `all`'s inventory
    and group_vars), without any real host's own.
    """
    host = Host(STAND_IN_HOST)
    host.add_group(setup.inventory.groups['all'])
    return host


# ---------------------------------------------------------------------------
# Export of the tree Play.compile() returns
# ---------------------------------------------------------------------------

class Exporter:
    """Walks ansible-core's loaded objects and writes IR nodes."""

    def __init__(self, setup: AnsibleSetup, paths: PathStyle, expand: bool, verbose: bool = False) -> None:
        self.setup = setup
        self.paths = paths
        self.expander = Expander(setup, paths, self, verbose) if expand else None

    # -- playbook and plays -------------------------------------------------

    def export_playbook(self, playbook_path: str) -> dict:
        """Load the playbook (import_playbook expands in place) and export it."""
        pb = Playbook.load(playbook_path, variable_manager=self.setup.variable_manager,
                           loader=self.setup.loader)
        plays = []
        for play in pb.get_plays():
            # As PlaybookExecutor.run: relative names resolve from the
            # directory of the (possibly imported) playbook of the play.
            self.setup.loader.set_basedir(play._included_path or pb._basedir)
            plays.append(self.export_play(play))
        return {
            'version': IR_VERSION,
            'playbook': os.path.basename(playbook_path),
            'plays': plays,
        }

    def export_play(self, play: t.Any) -> dict:
        """One play: its keywords, `roles:`, compiled tasks and handlers."""
        file, line = position_of(play)
        # Read before compile()/expansion, which append included roles.
        role_names = [r.get_name() for r in play.roles if not r.from_include]
        keywords = keywords_of(play, NODE_KEYWORDS + PLAY_KEYWORDS)
        # As TaskQueueManager.run: roles' handlers first, then the play's.
        handler_blocks = play.compile_roles_handlers() + play.handlers
        task_blocks = play.compile()

        context = ExpandContext(play=play, host=None, stack=())
        reach = self.expander.reach if self.expander else None
        if reach:
            targets = reach.enter_play(play)
            context = self.expander.context_for(play, targets)
        node = {
            'name': play_name(play),
            'file': self.paths.show(file),
            'line': line,
            'hosts': host_patterns(play),
            'keywords': keywords,
            'roles': role_names,
            'tasks': [self.export_node(b, context) for b in task_blocks],
            'handlers': [self.export_node(b, context._replace(handlers=True)) for b in handler_blocks],
        }
        if reach:
            reach.leave_play()
            node['targets'] = targets
        return node

    # -- nodes ---------------------------------------------------------------

    def export_node(self, obj: t.Any, context: 'ExpandContext') -> dict:
        """A Block or a Task (Handler, TaskInclude and IncludeRole are Tasks)."""
        if isinstance(obj, Block):
            return self.export_block(obj, context)
        return self.export_task(obj, context)

    def export_block(self, block: t.Any, context: 'ExpandContext') -> dict:
        """A block, explicit or implicit, with its three sections."""
        file, line = position_of(block)
        return {
            'block': [self.export_node(n, context) for n in block.block],
            'rescue': [self.export_node(n, context) for n in block.rescue],
            'always': [self.export_node(n, context) for n in block.always],
            'file': self.paths.show(file),
            'line': line,
            'name': to_plain_json(block.name) or '',
            'role': role_name(block),
            'keywords': keywords_of(block, NODE_KEYWORDS),
        }

    def export_task(self, task: t.Any, context: 'ExpandContext') -> dict:
        """A task or handler; includes are expanded on request."""
        file, line = position_of(task)
        node = {
            'task': to_plain_json(task.name) or '',
            'action': to_plain_json(task.action),
            'args': to_plain_json(task.args),
            'file': self.paths.show(file),
            'line': line,
            'role': role_name(task),
            'keywords': keywords_of(task, NODE_KEYWORDS),
        }
        if self.expander:
            reach = self.expander.reach
            # Only in plays with targets (as reach.rs).
            if 'when' in node['keywords'] and file is not None and not context.handlers \
                    and not reach.play_gated:
                node['when_result'], why = reach.decide(task, context)
                if why:
                    node['when_error'] = why
            # A handler may run (when notified): what it does counts.
            reach.after(task, context, node.get('when_result', True))
            if is_dynamic_include(task):
                gated = node.get('when_result') is False
                reach.gate += gated
                node.update(self.expander.expand(task, context))
                reach.gate -= gated
        return node


def play_name(play: t.Any) -> str:
    """The play's name as written.

    Read from the play's data structure, not `play.name`: ansible's
    Play.get_name() (called by VariableManager.get_vars while loading
    imports) fills an unnamed play's name with its host patterns.
    """
    ds = play.get_ds()
    name = ds.get('name') if isinstance(ds, dict) else None
    return to_plain_json(name) if name is not None else ''


def role_name(obj: t.Any) -> str | None:
    """Name of the role a node belongs to (FQCN for collection roles)."""
    role = getattr(obj, '_role', None)
    return role.get_name() if role is not None else None


def is_dynamic_include(task: t.Any) -> bool:
    """include_tasks / include_role in any spelling (short, FQCN, legacy)."""
    return task.action in C._ACTION_ALL_INCLUDES or task.action in ('include', 'ansible.builtin.include')


# ---------------------------------------------------------------------------
# --expand: what the linear strategy would include, statically
# ---------------------------------------------------------------------------

class ExpandContext(t.NamedTuple):
    play: t.Any
    host: t.Any            # Host whose vars are used (first_host or stand_in_host)
    stack: tuple           # keys of the includes being expanded (loop guard)
    handlers: bool = False  # exporting the play's handlers


class Reach:
    """What a run would reach, before anything runs (`targets`, `when_result`).

    The oracle of translator/src/playbook/reach.rs, with ansible-core's own
    pieces: plays' patterns through InventoryManager.get_hosts, group_by
    through InventoryManager.add_dynamic_group (as the strategy applies its
    result), conditions through TemplateEngine.evaluate_conditional, loop
    items as TaskExecutor._get_loop_items gets them. Variables are
    VariableManager.get_vars of the play's first target, with the play's
    targets as the play hosts. Nothing ran, so registered results and facts
    are undefined here: a condition that needs one fails, and is reported
    unknown (None), like one that fails for any other reason. Each
    condition of a list is evaluated on its own: a known False one decides.
    """

    def __init__(self, setup: AnsibleSetup) -> None:
        self.setup = setup
        self.gate = 0            # > 0 inside what does not run
        self.play_gated = False  # the current play has no targets
        self.targets: list[str] | None = None

    def enter_play(self, play: t.Any) -> list[str] | None:
        self.targets = self.play_targets(play)
        self.play_gated = self.targets == []
        self.gate += self.play_gated
        return self.targets

    def leave_play(self) -> None:
        self.gate -= self.play_gated

    def play_targets(self, play: t.Any) -> list[str] | None:
        """Hosts the play's patterns select now, in inventory order."""
        inventory = self.setup.inventory
        try:
            templar = TemplateEngine(loader=self.setup.loader,
                                     variables=self.setup.variable_manager.get_vars(play=play))
            patterns = [str(p) for p in templar.template(host_patterns(play))]
            inventory.clear_pattern_cache()
            hosts = inventory.get_hosts(patterns)
        except AnsibleError:
            return None
        order = {name: i for i, name in enumerate(inventory.hosts)}
        return sorted((h.name for h in hosts), key=lambda n: order.get(n, len(order)))

    def variables(self, play: t.Any, host: t.Any, task: t.Any) -> dict:
        hosts = list(self.targets or [])
        return self.setup.variable_manager.get_vars(play=play, host=host, task=task,
                                                    _hosts=hosts, _hosts_all=hosts)

    def conditions(self, conditions: list, variables: dict) -> tuple[bool | None, str | None]:
        """Each condition alone: False if one is False, None (with the
        first error) if one fails."""
        error = None
        for condition in conditions:
            try:
                engine = TemplateEngine(loader=self.setup.loader, variables=variables)
                if not engine.evaluate_conditional(condition):
                    return False, None
            except Exception as ex:  # pylint: disable=broad-except
                error = error or _first_line(ex)  # at run time: defined once something ran
        return (None, error) if error else (True, None)

    def loop_items(self, task: t.Any, variables: dict) -> list | None:
        """The loop's items (None without a loop); raises when not static."""
        templar = TemplateEngine(loader=self.setup.loader, variables=variables)
        if task.loop_with:
            terms = templar.template(task.loop)
            if not isinstance(terms, list):
                terms = [terms]
            expression = TrustedAsTemplate().tag(f'query({task.loop_with!r}, *__concerto_terms)')
            items = templar.evaluate_expression(expression, local_variables={'__concerto_terms': terms})
        elif task.loop is not None:
            items = templar.template(task.loop)
        else:
            return None
        if not isinstance(items, list):
            raise AnsibleError('loop items are not a list')
        return items

    @staticmethod
    def loop_var(task: t.Any) -> str:
        return task.loop_control.loop_var if task.loop_control else 'item'

    def decide(self, task: t.Any, context: 'ExpandContext') -> tuple[bool | None, str | None]:
        """The task's `when` over its loop items: any item True, all False.

        With items not known, the conditions are evaluated with the loop
        variable bound to a value no template can use: only those that do
        not read it decide (False whatever the items).
        """
        variables = self.variables(context.play, context.host, task)
        try:
            items = self.loop_items(task, variables)
        except Exception as ex:  # pylint: disable=broad-except
            unusable = dict(variables, **{self.loop_var(task): _NotAnItem()})
            r, _ = self.conditions(task.when, unusable)
            return (False, None) if r is False else (None, f'loop items: {_first_line(ex)}')
        if items is None:
            return self.conditions(task.when, variables)
        result: bool | None = False
        why = None
        for item in items:
            r, error = self.conditions(task.when, dict(variables, **{self.loop_var(task): item}))
            if r is True:
                return True, None
            if r is None:
                result, why = None, why or error
        return result, why

    def after(self, task: t.Any, context: 'ExpandContext', when_result: bool | None) -> None:
        """A group_by that may run adds its groups, per target and item."""
        if self.gate or when_result is False or task.action not in GROUP_BY:
            return
        inventory = self.setup.inventory
        for name in self.targets or []:
            host = inventory.get_host(name)
            variables = self.variables(context.play, host, task)
            try:
                items = self.loop_items(task, variables)
            except Exception:  # pylint: disable=broad-except
                continue
            for item in [None] if items is None else items:
                v = variables if items is None else dict(variables, **{self.loop_var(task): item})
                if self.conditions(task.when, v)[0] is False:
                    continue
                templar = TemplateEngine(loader=self.setup.loader, variables=v)
                parents = task.args.get('parents', ['all'])
                try:
                    key = templar.template(task.args['key'])
                    parents = [templar.template(p) for p in ([parents] if isinstance(parents, str) else parents)]
                except Exception:  # pylint: disable=broad-except
                    continue
                add_dynamic_group(inventory, host, str(key).replace(' ', '-'),
                                  [str(p).replace(' ', '-') for p in parents])
        inventory.clear_pattern_cache()


GROUP_BY = ('group_by', 'ansible.builtin.group_by', 'ansible.legacy.group_by')


def add_dynamic_group(inventory: t.Any, host: t.Any, group: str, parents: list[str]) -> None:
    """InventoryManager.add_dynamic_group, as the strategy calls it: with the
    host and group_by's result on 2.19, with the host's name and an
    AddGroup on 2.21."""
    try:
        from ansible._internal._task import AddGroup  # ansible-core >= 2.21
    except ImportError:
        inventory.add_dynamic_group(host, {'add_group': group, 'parent_groups': parents})
    else:
        inventory.add_dynamic_group(host.name, AddGroup(group_name=group, parent_group_names=parents))


class _NotAnItem:
    """A loop item not known statically: any use of it is an error (not
    an undefined attribute, which `is defined` would turn into False)."""

    def __getattr__(self, name: str) -> t.NoReturn:
        raise RuntimeError('the loop item is not known statically')

    def __getitem__(self, key: t.Any) -> t.NoReturn:
        raise RuntimeError('the loop item is not known statically')


class NotStatic(Exception):
    """The include's name depends on something only known at run time."""


class _StaticStrategy(StrategyBase):
    """Just enough of a strategy to call StrategyBase's include loaders.

    StrategyBase._load_included_file and _copy_included_file only use the
    loader and the variable manager. StrategyBase.__init__ is not called:
    it needs a TaskQueueManager (workers, callbacks, connections).
    """

    def __init__(self, loader: t.Any, variable_manager: t.Any) -> None:  # pylint: disable=super-init-not-called
        self._loader = loader
        self._variable_manager = variable_manager


# ansible-core 2.19's StrategyBase._load_included_file reports stats and
# runs callbacks (through a TaskQueueManager we do not have) unless told
# not to; 2.21 dropped that parameter with the behaviour.
LOAD_WITHOUT_CALLBACKS = (
    {'handle_stats_and_callbacks': False}
    if 'handle_stats_and_callbacks' in inspect.signature(StrategyBase._load_included_file).parameters
    else {}
)


class _PlayOnlyIterator:
    """IncludedFile.process_include_results only reads `iterator._play`."""

    def __init__(self, play: t.Any) -> None:
        self._play = play


class Expander:
    """Resolves include_tasks / include_role like the linear strategy.

    At run time the TaskExecutor templates the include's arguments, then
    IncludedFile.process_include_results resolves the file (or role) and
    the strategy loads it. Here the arguments are templated over the
    variables known before anything runs (extra vars, play vars and
    vars_files, role defaults/vars, inventory vars of the play's first
    host) and the same two ansible functions do the rest.
    """

    def __init__(self, setup: AnsibleSetup, paths: PathStyle, exporter: Exporter, verbose: bool = False) -> None:
        self.setup = setup
        self.paths = paths
        self.exporter = exporter
        self.verbose = verbose
        self.strategy = _StaticStrategy(setup.loader, setup.variable_manager)
        self.reach = Reach(setup)

    def context_for(self, play: t.Any, targets: list[str] | None = None) -> ExpandContext:
        host = (self.setup.inventory.get_host(targets[0]) if targets else None) \
            or first_host(play, self.setup) or stand_in_host(self.setup)
        if self.verbose:
            print(f'concerto_ir_export: play {play_name(play)!r}: variables of host {host.name!r}',
                  file=sys.stderr)
        return ExpandContext(play=play, host=host, stack=())

    def log(self, task: t.Any, message: str) -> None:
        """Why an include was not expanded (stderr, with -v): not part of the IR."""
        if self.verbose:
            file, line = position_of(task)
            print(f'concerto_ir_export: {self.paths.show(file)}:{line}: {message}', file=sys.stderr)

    # -- entry point -----------------------------------------------------------

    def expand(self, task: t.Any, context: ExpandContext) -> dict:
        """The `included` / `candidates` / `loop` fields of one include task.

        The include's `when` is deliberately not evaluated: the IR lists
        every task that could run (the condition stays in `keywords`).
        """
        is_role = task.action in C._ACTION_INCLUDE_ROLE
        try:
            args = self.templated_args(task, context)
        except NotStatic as ex:
            self.log(task, f'not static ({ex})')
            return {'candidates': self.candidates(task, is_role, context)}
        try:
            if is_role:
                return self.include_role(task, args, context)
            return self.include_tasks(task, args, context)
        except AnsibleError as ex:
            self.log(task, f'cannot load ({_first_line(ex)})')
            return {'error': _first_line(ex)}

    # -- templating the include's arguments -----------------------------------

    def task_vars(self, task: t.Any, context: ExpandContext) -> dict:
        """Variables the task would see before any task ran (no facts)."""
        return self.reach.variables(context.play, context.host, task)

    def templated_args(self, task: t.Any, context: ExpandContext) -> dict:
        """The include's args rendered as the TaskExecutor would render them.

        Raises NotStatic when rendering needs an undefined variable (a
        fact, a registered result, a loop item) or otherwise fails.
        """
        templar = TemplateEngine(loader=self.setup.loader, variables=self.task_vars(task, context))
        args = dict(task.args)
        args.pop('apply', None)   # kept on the task for build_parent_block()
        try:
            return templar.template(args)
        except AnsibleError as ex:
            raise NotStatic(_first_line(ex)) from ex

    def fake_result(self, task: t.Any, context: ExpandContext, return_data: dict) -> t.Any:
        """A task result as the TaskExecutor returns it for an include.

        `return_data` holds `include` (include_tasks' file) and
        `include_args`. A looped include reports one result per item; the
        item's value is not set (process_include_results would define the
        loop variable only from a value the result carries: 2.19 looks for
        the key, 2.21 sets it from `loop_item` only when `loop_var` is set,
        so neither defines it here).
        """
        looped = task.loop is not None or bool(task.loop_with)
        if UnifiedTaskResult is None:  # ansible-core 2.19
            if looped:
                return_data = {'results': [dict(return_data, ansible_loop_var=self.loop_var(task))]}
            return _RawTaskResult(host=context.host, task=task, return_data=return_data, task_fields={})
        utr = UnifiedTaskResult(is_module=False, include_file=return_data.get('include'),
                                include_args=return_data.get('include_args'))
        if looped:
            utr = UnifiedTaskResult(is_module=False, loop_results=[utr])
        return HostTaskResult(host=context.host, task=task, utr=utr)

    def resolve(self, task: t.Any, context: ExpandContext, return_data: dict) -> t.Any:
        """IncludedFile for the include, exactly as process_include_results makes it."""
        included = IncludedFile.process_include_results(
            [self.fake_result(task, context, return_data)],
            iterator=_PlayOnlyIterator(context.play),
            loader=self.setup.loader,
            variable_manager=self.setup.variable_manager,
        )
        if not included:
            raise NotStatic('ansible did not include anything')
        return included[0]

    # -- include_tasks ----------------------------------------------------------

    def include_tasks(self, task: t.Any, args: dict, context: ExpandContext) -> dict:
        """Load the included task file with StrategyBase._load_included_file."""
        include_args = dict(args)
        name = include_args.pop('_raw_params', None)
        included = self.resolve(task, context, {'include': name, 'include_args': include_args})
        key = ('tasks', os.path.realpath(included._filename))
        shown = self.paths.show(included._filename)
        if key in context.stack or len(context.stack) >= MAX_INCLUDE_DEPTH:
            return {'loop': True}
        if not os.path.exists(included._filename):
            self.log(task, f'included file not found: {shown}')
            return {'error': f'included file not found: {shown}'}
        blocks = self.strategy._load_included_file(
            included, iterator=_PlayOnlyIterator(context.play),
            is_handler=isinstance(task, Handler), **LOAD_WITHOUT_CALLBACKS)
        inner = context._replace(stack=context.stack + (key,))
        return {'included': {'file': shown,
                             'tasks': [self.exporter.export_node(b, inner) for b in blocks]}}

    # -- include_role ----------------------------------------------------------

    def include_role(self, task: t.Any, args: dict, context: ExpandContext) -> dict:
        """Load the role as the linear strategy does (IncludeRole.get_block_list)."""
        try:
            included = self.resolve(task, context, {'include_args': dict(args)})
        except AnsibleError as ex:
            # process_include_results post-validates (templates) all of the
            # include's keywords; one needing a fact must not hide the role.
            self.log(task, f'keywords not static, role loaded without them ({_first_line(ex)})')
            included = self.role_without_post_validate(task, args)
        new_ir = self.strategy._copy_included_file(included)
        play = context.play
        saved_roles, saved_handlers = list(play.roles), list(play.handlers)
        try:
            blocks, handler_blocks = new_ir.get_block_list(
                play=play, variable_manager=self.setup.variable_manager, loader=self.setup.loader)
        finally:
            # get_block_list registers the role and its handlers on the play;
            # the IR keeps the play's static lists and nests them here instead.
            play.roles[:], play.handlers[:] = saved_roles, saved_handlers
        tasks_file = role_tasks_file(new_ir._role_path, new_ir._from_files.get('tasks'), self.setup.loader)
        key = ('role', os.path.realpath(new_ir._role_path), new_ir._from_files.get('tasks'))
        shown = self.paths.show(tasks_file or new_ir._role_path)
        if key in context.stack or len(context.stack) >= MAX_INCLUDE_DEPTH:
            return {'loop': True}
        inner = context._replace(stack=context.stack + (key,))
        return {'included': {
            'file': shown,
            'tasks': [self.exporter.export_node(b, inner) for b in blocks],
            'handlers': [self.exporter.export_node(b, inner._replace(handlers=True)) for b in handler_blocks],
        }}

    @staticmethod
    def role_without_post_validate(task: t.Any, args: dict) -> t.Any:
        """The IncludedFile process_include_results builds for a role, minus post_validate.

        (2.21 leaves the `*_from` arguments in the IncludedFile's args where
        2.19 pops them; those args only serve to tell includes apart, not
        to load the role, so 2.19's form is kept for both.)
        """
        include_args = dict(args)
        role = include_args.pop('name', include_args.pop('role', None))
        new_task = task.copy()
        new_task._role_name = role
        for from_arg in new_task.FROM_ARGS:
            if from_arg in include_args:
                new_task._from_files[from_arg.removesuffix('_from')] = include_args.pop(from_arg)
        return IncludedFile(role, include_args, {}, new_task, is_role=True)

    # -- candidates when the name is not static --------------------------------

    def candidates(self, task: t.Any, is_role: bool, context: ExpandContext) -> list[str]:
        """Files an unresolvable include name could match.

        The name becomes glob patterns (see name_patterns) that are
        matched where ansible would look: the role's tasks/ (or handlers/)
        directory, the playbook directory and the including file's
        directory for include_tasks; the role search path for include_role
        (listing each matching role's tasks entry file).
        """
        raw = task.args.get('name', task.args.get('role')) if is_role else task.args.get('_raw_params')
        if not isinstance(raw, str) or not JINJA_EXPRESSION.search(raw):
            return []
        found = set()
        for pattern in self.name_patterns(task, str(raw), context):
            if is_role:
                tasks_from = task.args.get('tasks_from')
                if not isinstance(tasks_from, str) or JINJA_EXPRESSION.search(tasks_from):
                    tasks_from = None
                for directory in self.role_search_dirs():
                    for role_dir in glob.glob(os.path.join(glob.escape(directory), pattern)):
                        entry = role_tasks_file(role_dir, tasks_from, self.setup.loader)
                        if entry:
                            found.add(entry)
            else:
                for directory in self.task_search_dirs(task):
                    for path in glob.glob(os.path.join(glob.escape(directory), pattern)):
                        if os.path.isfile(path):
                            found.add(path)
        return sorted({self.paths.show(p) for p in found})

    def name_patterns(self, task: t.Any, raw: str, context: ExpandContext) -> list[str]:
        """Glob patterns for an include name that could not be rendered.

        When the name uses the loop variable plainly (`{{ item }}`, as in
        the common `include_tasks: "{{ item }}"` + `with_first_found`), the
        loop's own terms are what it names: each term that renders gives a
        literal name, each that does not a pattern. Otherwise every Jinja
        expression of the name becomes `*`.
        """
        loop_expr = re.compile(r'{{\s*' + re.escape(self.loop_var(task)) + r'\s*}}')
        terms = self.loop_terms(task, context) if loop_expr.search(raw) else []
        if not terms:
            return [_jinja_to_glob(raw)]

        templar = TemplateEngine(loader=self.setup.loader, variables=self.task_vars(task, context))
        patterns = []
        for term in terms:
            try:
                term_pattern = glob.escape(str(templar.template(term)))
            except AnsibleError:
                term_pattern = _jinja_to_glob(str(term))
            placeholder = '\x00'
            patterns.append(_jinja_to_glob(loop_expr.sub(placeholder, raw)).replace(placeholder, term_pattern))
        return _unique(patterns)

    @staticmethod
    def loop_var(task: t.Any) -> str:
        if getattr(task, '_loop_control', None):
            return str(task.loop_control.loop_var or 'item')
        return 'item'

    def loop_terms(self, task: t.Any, context: ExpandContext) -> list[str]:
        """The string terms of the include's loop, as written.

        `with_first_found` terms may be mappings with a `files:` list.
        A templated loop (`loop: "{{ files }}"`) is rendered if it can be.
        """
        loop = task.loop
        if isinstance(loop, str):
            try:
                loop = TemplateEngine(loader=self.setup.loader,
                                      variables=self.task_vars(task, context)).template(loop)
            except AnsibleError:
                return []
        if not isinstance(loop, list):
            return []
        # Terms are kept as loaded: str() would drop the tag that marks
        # them trusted as templates, and the templar would not render them.
        terms: list[str] = []
        for term in loop:
            if isinstance(term, str):
                terms.append(term)
            elif isinstance(term, dict):
                files = term.get('files', [])
                files = files.split(',') if isinstance(files, str) else files
                terms.extend(f for f in files if isinstance(f, str))
        return terms

    def task_search_dirs(self, task: t.Any) -> list[str]:
        dirs = []
        if task._role is not None:
            dirs.append(os.path.join(task._role._role_path, 'handlers' if isinstance(task, Handler) else 'tasks'))
        else:
            dirs.append(self.setup.loader.get_basedir())
        file, _ = position_of(task)
        if file:
            dirs.append(os.path.dirname(file))
        return _unique(dirs)

    def role_search_dirs(self) -> list[str]:
        basedir = self.setup.loader.get_basedir()
        return _unique([os.path.join(basedir, 'roles')] + list(C.DEFAULT_ROLES_PATH or []) + [basedir])


def role_tasks_file(role_path: str, tasks_from: str | None, loader: t.Any) -> str | None:
    """The task file a role loads: tasks/main.yml or tasks/<tasks_from>.

    Same extension rules as Role._load_role_yaml.
    """
    directory = os.path.join(role_path, 'tasks')
    if not os.path.isdir(directory):
        return None
    extensions = ['.yml', '.yaml', '.json']
    if tasks_from is None:
        main = 'main'
        extensions.append('')
    else:
        main = tasks_from
        extensions.insert(0, '')
    found = loader.find_vars_files(directory, main, extensions, False)
    return found[0] if found else None


def _jinja_to_glob(text: str) -> str:
    """`{{ x }}.yml` -> `*.yml`: each Jinja expression or statement matches anything."""
    return re.sub(r'\*+', '*', JINJA_EXPRESSION.sub('*', text))


def _unique(items: t.Iterable[str]) -> list[str]:
    seen: list[str] = []
    for item in items:
        if item and item not in seen:
            seen.append(item)
    return seen


def _first_line(ex: BaseException) -> str:
    text = getattr(ex, 'message', None) or str(ex)
    return str(text).strip().splitlines()[0] if str(text).strip() else type(ex).__name__


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog='concerto_ir_export.py',
        description='Write the playbook IR (docs/ir.md) as ansible-core loads the playbook.')
    parser.add_argument('playbook')
    parser.add_argument('-i', '--inventory', action='append', default=[],
                        help="inventory source (repeatable), as for ansible-playbook; "
                             "default: ansible's configured DEFAULT_HOST_LIST")
    parser.add_argument('-e', '--extra-vars', action='append', default=[], dest='extra_vars',
                        help='k=v, YAML/JSON, or @file (repeatable), as for ansible-playbook')
    parser.add_argument('--expand', action='store_true',
                        help='expand include_tasks/include_role whose name is static')
    parser.add_argument('-o', '--output', help='write here instead of stdout')
    parser.add_argument('-v', '--verbose', action='store_true',
                        help='say on stderr which host --expand uses and why an include stays unexpanded')
    return parser.parse_args(argv)


def export(playbook: str, inventory: list[str], extra_vars: list[str], expand: bool,
           verbose: bool = False) -> dict:
    """The IR document for one playbook (the whole program minus I/O)."""
    setup = init_ansible(playbook, inventory or list(C.DEFAULT_HOST_LIST), extra_vars)
    exporter = Exporter(setup, PathStyle(playbook), expand, verbose)
    return exporter.export_playbook(playbook)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    try:
        document = export(args.playbook, args.inventory, args.extra_vars, args.expand, args.verbose)
    except AnsibleError as ex:
        print(f'concerto_ir_export: {ex}', file=sys.stderr)
        return 1
    except RecursionError:
        # ansible-core has no guard against import_tasks/import_role cycles
        # (ansible-playbook reports "Unexpected Exception ... recursion").
        print('concerto_ir_export: maximum recursion depth exceeded while loading '
              '(an import_tasks/import_role that imports itself?)', file=sys.stderr)
        return 1
    text = json.dumps(document, indent=1, ensure_ascii=False) + '\n'
    if args.output:
        with open(args.output, 'w', encoding='utf-8') as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
