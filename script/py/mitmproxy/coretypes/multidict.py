"""Ordered multi-dicts: mitmproxy's MultiDict and MultiDictView.

A MultiDict keeps its items as a tuple of (key, value) pairs in ``fields``;
duplicate keys are allowed. Indexing returns the first value; ``get_all`` and
``set_all`` see every value of a key.
"""
from collections.abc import MutableMapping

__all__ = ["MultiDict", "MultiDictView"]


class _MultiDict(MutableMapping):
    fields = ()

    def __repr__(self):
        return "%s[%s]" % (
            type(self).__name__,
            ", ".join(repr(f) for f in self.fields),
        )

    @staticmethod
    def _reduce_values(values):
        # How several values of one key read through __getitem__.
        return values[0]

    @staticmethod
    def _kconv(key):
        # Key normalisation for comparisons (Headers: lower case).
        return key

    def __getitem__(self, key):
        values = self.get_all(key)
        if not values:
            raise KeyError(key)
        return self._reduce_values(values)

    def __setitem__(self, key, value):
        self.set_all(key, [value])

    def __delitem__(self, key):
        if key not in self:
            raise KeyError(key)
        k = self._kconv(key)
        self.fields = tuple(f for f in self.fields if k != self._kconv(f[0]))

    def __iter__(self):
        seen = set()
        for key, _ in self.fields:
            k = self._kconv(key)
            if k not in seen:
                seen.add(k)
                yield key

    def __len__(self):
        return len({self._kconv(k) for k, _ in self.fields})

    def __contains__(self, key):
        k = self._kconv(key)
        for f in self.fields:
            if self._kconv(f[0]) == k:
                return True
        return False

    def __eq__(self, other):
        if isinstance(other, _MultiDict):
            return self.fields == other.fields
        return False

    __hash__ = None

    def get_all(self, key):
        """Every value of key, in order."""
        k = self._kconv(key)
        return [v for n, v in self.fields if self._kconv(n) == k]

    def set_all(self, key, values):
        """Replace the values of key, keeping existing positions."""
        values = list(values)
        k = self._kconv(key)
        new = []
        i = 0
        for field in self.fields:
            if self._kconv(field[0]) == k:
                if i < len(values):
                    new.append((field[0], values[i]))
                    i += 1
            else:
                new.append(field)
        while i < len(values):
            new.append((key, values[i]))
            i += 1
        self.fields = tuple(new)

    def add(self, key, value):
        """Append a value, keeping those there are."""
        self.insert(len(self.fields), key, value)

    def insert(self, index, key, value):
        item = (key, value)
        fields = list(self.fields)
        fields.insert(index, item)
        self.fields = tuple(fields)

    def keys(self, multi=False):
        return (k for k, _ in self.items(multi))

    def values(self, multi=False):
        return (v for _, v in self.items(multi))

    def items(self, multi=False):
        if multi:
            return list(self.fields)
        return [(k, self[k]) for k in self]


class MultiDict(_MultiDict):
    """A concrete, ordered multi-dict."""

    def __init__(self, fields=()):
        super().__init__()
        self.fields = tuple(tuple(i) for i in fields)

    @staticmethod
    def _reduce_values(values):
        return values[0]

    @staticmethod
    def _kconv(key):
        return key

    def get_state(self):
        return self.fields

    def set_state(self, state):
        self.fields = tuple(tuple(x) for x in state)

    @classmethod
    def from_state(cls, state):
        return cls(state)

    def copy(self):
        return type(self)(self.fields)


class MultiDictView(_MultiDict):
    """A MultiDict whose fields are read and written through two callables,
    so changes show up in the object it views (query, cookies, forms)."""

    def __init__(self, getter, setter):
        self._getter = getter
        self._setter = setter
        super().__init__()

    @staticmethod
    def _kconv(key):
        return key

    @staticmethod
    def _reduce_values(values):
        return values[0]

    @property  # type: ignore
    def fields(self):
        return self._getter()

    @fields.setter
    def fields(self, value):
        self._setter(value)

    def copy(self):
        return MultiDict(self.fields)
