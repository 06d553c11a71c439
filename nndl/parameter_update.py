"""One step of an update rule for all of a model's parameters, the small ones in one call.

``ParameterUpdate(rule)(params, grads, configs)`` is what the Solver does at each iteration:
``rule(params[name], grads[name], configs[name])`` for every parameter, with the same numbers,
but a network's biases, batch-norm scales and small weight matrices go through the rule together
(one call on their concatenation), because the Python overhead of a call costs more than its
arithmetic for arrays of a few dozen numbers.
"""

from __future__ import annotations

import math

import numpy as np

from nndl import optim
from nndl.optim import STATE, UPDATE_RULES

# Parameters of at most this many elements are updated together, by one call of the rule on their
# concatenation (for CS231n's 7 x 50 network, 29 calls become one; benchmarks/bench_sweep.py
# measures the whole training). Every built-in rule is elementwise, so the numbers are the same.
GROUP_ELEMENTS = 4096


class ParameterUpdate:
    """``rule`` applied to all of a model's parameters, one step at a time::

        update = ParameterUpdate(adam)
        updated, bad = update(model.params, grads, configs)

    does what ``rule(params[name], grads[name], configs[name])`` for each name does, and returns
    the new arrays in a dict (``params`` is not modified) with the name of the first parameter, in
    ``params``' order, whose new values are not all finite (None when all are). For the built-in
    rules, the small parameters (see GROUP_ELEMENTS) of one dtype whose configs agree (same
    hyper-parameters and step count, holding their state) go through one call: their state lives
    in one array per state entry, and each config holds views of it, so that the configs always
    show (and a checkpoint saves) each parameter's own state. Any other rule is called per
    parameter.
    """

    def __init__(self, rule):
        self.rule = rule
        # One of the rules of nndl.optim: the module's own, or what now stands under its name
        # there (the lab's graders put a student's function in its place).
        names = [name for name in STATE if rule in (UPDATE_RULES[name], getattr(optim, name, None))]
        self.state = STATE[names[0]] if names else None
        # (names, shapes, flat state arrays, the configs' views of them, the names as a set)
        self._group = None

    def __call__(self, params, grads, configs):
        group = self._current_group(params, grads, configs)
        members = group[4] if group else ()
        updated = {}
        for name, w in params.items():
            if name not in members:
                updated[name], configs[name] = self.rule(w, grads[name], configs[name])
        finite = True
        if group:
            finite = self._update_group(group, params, grads, configs, updated)
        for name in params:
            if (name not in members or not finite) and not np.isfinite(updated[name]).all():
                return updated, name
        return updated, None

    def _update_group(self, group, params, grads, configs, updated):
        """One call of the rule for the group's members; returns whether all came out finite."""
        names, shapes, flat, _, _ = group
        first = configs[names[0]]
        w = np.concatenate([params[name].reshape(-1) for name in names])
        dw = np.concatenate([grads[name].reshape(-1) for name in names], dtype=w.dtype)
        config = first | flat
        next_w, config = self.rule(w, dw, config)
        for key in self.state:  # a rule that replaced a state array: copy it into the group's
            if config[key] is not flat[key]:
                flat[key][...] = config[key]
        changed = [(key, value) for key, value in config.items() if key not in flat]
        changed = [(key, value) for key, value in changed if first.get(key, flat) != value]
        start = 0
        for name, shape in zip(names, shapes):
            stop = start + math.prod(shape)
            updated[name] = next_w[start:stop].reshape(shape)
            member = configs[name]
            for key, value in changed:  # Adam's step count t
                member[key] = value
            start = stop
        return bool(np.isfinite(next_w).all())

    def _current_group(self, params, grads, configs):
        """The group for this step: the last one if its members' configs still hold its views and
        agree, else a new one (its state gathered from the configs), or None."""
        if self.state is None:
            return None
        group = self._group
        if group is not None and self._still_valid(group, params, grads, configs):
            return group
        self._group = group = self._new_group(params, grads, configs)
        return group

    def _still_valid(self, group, params, grads, configs):
        names, shapes, _, views, _ = group
        scalars = [item for item in configs[names[0]].items() if item[0] not in self.state]
        for name, shape in zip(names, shapes):
            config = configs[name]
            if params[name].shape != shape or grads[name].shape != shape:
                return False
            for key, view in views[name].items():
                if config[key] is not view:
                    return False
            for key, value in scalars:
                if config.get(key) != value:
                    return False
        return True

    def _has_state(self, config, w):
        """Whether config holds the rule's state for w (arrays of w's shape and dtype): it has
        been used once, and the group can gather its state without changing a number."""
        return type(config) is dict and all(
            isinstance(config.get(key), np.ndarray | np.generic)  # a 0-d one may be a scalar
            and config[key].shape == w.shape
            and config[key].dtype == w.dtype
            for key in self.state
        )

    def _agreeing(self, reference, names, params, grads, configs):
        """The names whose parameters have the reference's dtype and whose configs hold their
        state and agree with its."""
        first = configs[reference]
        if not self._has_state(first, params[reference]):
            return []
        dtype = params[reference].dtype
        scalars = {key: value for key, value in first.items() if key not in self.state}
        return [
            name
            for name in names
            if type(configs[name]) is dict
            and params[name].dtype == dtype
            and grads[name].shape == params[name].shape
            and configs[name].keys() == first.keys()
            and self._has_state(configs[name], params[name])
            and all(configs[name][key] == value for key, value in scalars.items())
        ]

    def _new_group(self, params, grads, configs):
        small = [name for name, w in params.items() if w.size <= GROUP_ELEMENTS]
        if len(small) < 2:
            return None
        for reference in small:  # the group: the small parameters that agree with one of them
            names = self._agreeing(reference, small, params, grads, configs)
            if len(names) >= 2:
                break
        else:
            return None
        shapes, dtype = [params[name].shape for name in names], params[names[0]].dtype
        flat = {
            key: np.concatenate([configs[name][key].reshape(-1) for name in names], dtype=dtype)
            for key in self.state
        }
        views, start = {}, 0
        for name, shape in zip(names, shapes):
            size = math.prod(shape)
            views[name] = {key: flat[key][start : start + size].reshape(shape) for key in flat}
            configs[name].update(views[name])
            start += size
        return names, shapes, flat, views, frozenset(names)
