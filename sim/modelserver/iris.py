"""A tiny, fixed iris classifier, so every simulated prediction is a real one.

Nearest centroid over the four iris features (sepal length and width, petal length and width, in
cm), with the class means of Fisher's iris data. A model version nudges the petal centroids by a
small amount derived from its label, so that two versions of one model disagree on a few borderline
flowers, as a retrained model would.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

FEATURES = 4

# Class means of the iris data set: setosa, versicolor, virginica.
_CENTROIDS: tuple[tuple[float, float, float, float], ...] = (
    (5.006, 3.428, 1.462, 0.246),
    (5.936, 2.770, 4.260, 1.326),
    (6.588, 2.974, 5.552, 2.026),
)

# Realistic flowers to send: two of each class, some near the versicolor/virginica border.
SAMPLE_INSTANCES: tuple[tuple[float, float, float, float], ...] = (
    (5.1, 3.5, 1.4, 0.2),
    (4.9, 3.0, 1.4, 0.2),
    (6.8, 2.8, 4.8, 1.4),
    (6.0, 3.4, 4.5, 1.6),
    (6.3, 2.8, 5.1, 1.5),
    (7.2, 3.6, 6.1, 2.5),
)


class InvalidInstances(ValueError):
    """Instances that are not rows of four numbers."""


class InvalidShape(InvalidInstances):
    """A V2 tensor whose data does not fit its declared shape."""


@dataclass(frozen=True)
class IrisClassifier:
    """Nearest-centroid classifier; `version` shifts the petal centroids slightly."""

    centroids: tuple[tuple[float, ...], ...]

    @classmethod
    def for_version(cls, version: str) -> IrisClassifier:
        digest = hashlib.sha256(version.encode()).digest()
        # A shift in [-0.15, 0.15] cm on the versicolor and virginica petal features.
        shift = (digest[0] / 255.0 - 0.5) * 0.3
        centroids = tuple(
            (c[0], c[1], c[2] + shift * (i > 0), c[3] + shift * (i > 0))
            for i, c in enumerate(_CENTROIDS)
        )
        return cls(centroids=centroids)

    def predict(self, instances: object) -> list[int]:
        """Class index (0 setosa, 1 versicolor, 2 virginica) of each row of `instances`."""
        rows = rows_of(instances)
        return [self._nearest(row) for row in rows]

    def _nearest(self, row: Sequence[float]) -> int:
        distances = [sum((a - b) ** 2 for a, b in zip(row, c, strict=True)) for c in self.centroids]
        return distances.index(min(distances))


def rows_of(instances: object) -> list[list[float]]:
    """`instances` as rows of four floats, or InvalidInstances saying what is wrong."""
    if not isinstance(instances, list) or not instances:
        raise InvalidInstances("expected a non-empty list of rows of 4 numbers")
    rows: list[list[float]] = []
    for row in instances:
        if not isinstance(row, list) or len(row) != FEATURES:
            raise InvalidInstances(
                f"X has {len(row) if isinstance(row, list) else 1} features, but the model "
                f"is expecting {FEATURES} features as input"
            )
        if not all(isinstance(x, int | float) and not isinstance(x, bool) for x in row):
            raise InvalidInstances("could not convert the instances to numbers")
        rows.append([float(x) for x in row])
    return rows


def flat_rows(data: object, shape: object) -> list[list[float]]:
    """The rows of a V2 tensor given as flat or nested `data` with `shape` [n, 4]."""
    if not isinstance(shape, list) or len(shape) != 2 or not all(isinstance(d, int) for d in shape):
        raise InvalidShape(f"expected an input tensor of shape [n, {FEATURES}], got {shape}")
    rows, width = shape
    if isinstance(data, list) and data and isinstance(data[0], list):
        return rows_of(data)
    if not isinstance(data, list) or len(data) != rows * width:
        size = len(data) if isinstance(data, list) else 1
        raise InvalidShape(f"cannot reshape array of size {size} into shape {tuple(shape)}")
    return rows_of([data[i : i + width] for i in range(0, len(data), width)])
