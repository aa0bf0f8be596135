"""Helpers defined in other modules of the tree, seen through their calls: `from training import
train_step` called in an epoch loop runs the backward, step and resets of `train_step`.

The callee's module is parsed and analysed once per run (a memo table of the project index,
dropped when the index is pickled to workers), with its own `LoopFacts`. Only what can be
stated in the caller's names is kept, else the call stays an unknown call (silence):

- steps and resets of an optimizer or module the helper receives as a parameter
  (`def train_step(model, optimizer, ...)`), not of the callee module's globals;
- backward calls on values that may require grad there;
- no loop inside the helper, no call in it that may reset or backward (a call of code
  varlint cannot see, or a further helper), no early `return` before a site.
"""

from __future__ import annotations

import os

import libcst as cst

from varlint.analysis.gradflow import RequiresGrad
from varlint.analysis.gradflow.summaries import ends_in_return
from varlint.analysis.loop_sites import Site, SiteKind, head

# The memo table's key in `ProjectIndex.memo`.
MEMO_KEY = "foreign-loop-facts"


def module_facts(project, module_name: str):
    """The `LoopFacts` of module `module_name` of the tree (None: outside it or unreadable)."""
    info = project.module(module_name) if project is not None else None
    if info is None or info.error is not None:
        return None
    memo = project.memo.setdefault(MEMO_KEY, {})
    # One entry per module, valid while the module and the modules it imports are unchanged
    # (the memo is shared by the indexes an editor's edits derive: see ProjectIndex.with_module).
    path, key = os.path.abspath(info.path), project.dependency_key(module_name)
    kept = memo.get(path)
    if kept is None or kept[0] != key:
        memo[path] = (key, None)  # while reading it: a cycle of modules knows nothing
        try:
            facts = _read_facts(project, info)
        except BaseException:
            # A lint stopped midway (the server's lint thread) must not leave "unknown" behind.
            del memo[path]
            raise
        kept = memo[path] = (key, facts)
    return kept[1]


def _read_facts(project, info):
    from varlint.project import module_source
    from varlint.rule import FileContext

    text = module_source(info.path, info.digest)
    if text is None:
        return None  # changed on disk since it was indexed: unknown
    try:
        module = cst.parse_module(text)
    except (cst.ParserSyntaxError, RecursionError, ValueError):
        return None
    context = FileContext(info.path, module, project=project, module_name=info.name, text=text)
    return context.loops


def foreign_function(context, call: cst.Call):
    """(the callee module's LoopFacts, the function) for a plain call of a top-level function
    of another module of the tree (`train_step(...)`, `training.train_step(...)`)."""
    names = context.names.qualified(call.func)
    if len(names) != 1:
        return None
    module_name, _, function_name = next(iter(names)).rpartition(".")
    project = context.project
    info = project.module(module_name) if module_name else None
    if info is None or function_name not in info.functions or module_name == context.project.module_name(context.path):
        return None
    if project.ambiguous(module_name, context.path):
        return None
    facts = module_facts(project, module_name)
    if facts is None:
        return None
    functions = facts.functions.get(function_name) or []
    if len(functions) != 1 or facts.parent_scope(functions[0]) is not facts.context.module:
        return None
    if functions[0].decorators or facts.bindings.get((facts.context.module, function_name)):
        return None
    return facts, functions[0]


def foreign_sites(facts, function: cst.FunctionDef, arguments: dict) -> list[Site] | None:
    """The helper's sites that count at the call, or None when one of them cannot be stated in
    the caller's names (see the module docstring)."""
    gradflow = facts.context.gradflow
    found: list[Site] = []
    for site in facts.sites_by_scope.get(function, ()):
        if site.loops():
            return None
        if site.kind is SiteKind.JUMP:
            if not _final_return(function, site.node):
                return None  # what follows an early `return` or a `raise` may not run
            continue
        if site.kind is SiteKind.CALL:
            call: cst.Call = site.node  # type: ignore[assignment]
            if facts.helper_resets(call) or facts.helper_backward(call) or facts.unknown_call(call, site.scope):
                return None
            continue
        if site.kind is SiteKind.BACKWARD:
            if site.receiver is not None and gradflow.facts(site.receiver).requires_grad is RequiresGrad.NO:
                continue
        elif site.key is not None and not _is_parameter(site.key, arguments):
            return None
        elif site.key is None and (site.roots is None or not all(_is_parameter(r, arguments) for r in site.roots)):
            return None
        found.append(site)
    return found


def _final_return(function: cst.FunctionDef, node: cst.CSTNode) -> bool:
    """Whether `node` is the `return` ending the function's body."""
    return ends_in_return(function) and function.body.body[-1].body[-1] is node  # type: ignore[union-attr]


def _is_parameter(path: str, arguments: dict) -> bool:
    return arguments.get(head(path)) is not None


def site_label(context, site: Site) -> str:
    """`line 5` for a site of this file, `line 5 of training.py` for one of another module."""
    if site.origin is None:
        return f"line {context.range(site.node).start.line}"
    return f"line {site.origin.range(site.node).start.line} of {os.path.basename(site.origin.path)}"
