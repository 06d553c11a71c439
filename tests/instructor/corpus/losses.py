"""The losses: ``softmax_loss(x, y) -> (loss, dx)`` and ``svm_loss(x, y) -> (loss, dx)``, means
over the batch (students write them since 2021; given before)."""

import numpy as np

from tests.instructor.corpus import entries_of

correct, wrong = entries_of("losses")


@correct(
    "softmax_loss",
    idioms=("whole function", "log-sum-exp", "keepdims"),
    follows=("0suh/cs231n_2021", "0809zheng/CS231n-assignment2019"),
)
def softmax_loss_log_sum_exp(x, y):
    shifted_logits = x - np.max(x, axis=1, keepdims=True)
    Z = np.sum(np.exp(shifted_logits), axis=1, keepdims=True)
    log_probs = shifted_logits - np.log(Z)
    probs = np.exp(log_probs)
    N = x.shape[0]
    loss = -np.sum(log_probs[np.arange(N), y]) / N
    dx = probs.copy()
    dx[np.arange(N), y] -= 1
    dx = dx / N
    return loss, dx


@correct(
    "softmax_loss",
    idioms=("whole function", "log of probabilities", "keepdims", "in-place update"),
    follows=("AnirudhM1/CS231n-2022-Solutions",),
    advice=("softmax_loss modifies x in place",),
)
def softmax_loss_log_of_shifted_probabilities(x, y):
    logits = x
    logits -= np.max(logits, axis=1, keepdims=True)
    probabilities = np.exp(logits) / np.sum(np.exp(logits), axis=1, keepdims=True)
    loss = -np.mean(np.log(probabilities[np.arange(logits.shape[0]), y]))

    diff = probabilities
    diff[np.arange(logits.shape[0]), y] -= 1

    dx = diff / x.shape[0]
    return loss, dx


@correct(
    "softmax_loss",
    idioms=("whole function", "one-hot", "log-sum-exp", "keepdims"),
    follows=("AgainstEntropy/CS231n-assignment2021",),
)
def softmax_loss_one_hot(x, y):
    N, C = x.shape
    one_hot = np.zeros_like(x)
    one_hot[np.arange(N), y] = 1
    scores = x - x.max(axis=1, keepdims=True)
    log_sum = np.log(np.exp(scores).sum(axis=1, keepdims=True))
    loss = np.sum(one_hot * (log_sum - scores)) / N
    dx = (np.exp(scores - log_sum) - one_hot) / N
    return loss, dx


@correct(
    "svm_loss",
    idioms=("whole function", "keepdims"),
    follows=("AKSoo/CS231n-2017", "1219521375/CS231n2020"),
)
def svm_loss_counting_positive_margins(x, y):
    N = x.shape[0]
    correct_class_scores = x[np.arange(N), y]
    margins = np.maximum(0, x - correct_class_scores[:, np.newaxis] + 1.0)
    margins[np.arange(N), y] = 0
    loss = np.sum(margins) / N
    num_pos = np.sum(margins > 0, axis=1)
    dx = np.zeros_like(x)
    dx[margins > 0] = 1
    dx[np.arange(N), y] -= num_pos
    dx /= N
    return loss, dx


@correct(
    "svm_loss",
    idioms=("whole function", "one-hot", "float32"),
    follows=("Amapocho/CS231n-Spring-2021",),
)
def svm_loss_with_a_boolean_mask(x, y):
    N, C = x.shape
    true_class = np.zeros((N, C), dtype=bool)
    true_class[np.arange(N), y] = True
    margins = x - x[true_class].reshape(N, 1) + 1
    positive = (margins > 0) & ~true_class
    loss = np.sum(margins[positive]) / N
    dx = positive.astype(x.dtype)
    dx[true_class] = -positive.sum(axis=1)
    dx /= N
    return loss, dx


@wrong(
    "softmax_loss",
    diagnosis="softmax_loss adds a constant inside the log",
    mistake="np.log(p + 1e-12) to avoid log(0): wrong by far for a confident mistake, where the "
    "true class's probability is below 1e-12 (a margin of 30 is enough)",
    idioms=("whole function", "log of probabilities", "keepdims"),
    follows=("AnirudhM1/CS231n-2022-Solutions",),
)
def softmax_loss_with_an_epsilon_in_the_log(x, y):
    N = x.shape[0]
    shifted = x - np.max(x, axis=1, keepdims=True)
    probs = np.exp(shifted) / np.sum(np.exp(shifted), axis=1, keepdims=True)
    loss = -np.sum(np.log(probs[np.arange(N), y] + 1e-12)) / N
    dx = probs.copy()
    dx[np.arange(N), y] -= 1
    dx /= N
    return loss, dx
