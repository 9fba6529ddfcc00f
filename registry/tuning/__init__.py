"""Hyperparameter search on Optuna: ``genzoo tune``.

    space     search spaces from TOML ([tune.NAME] in zoo.toml, a file, or inline), checked up front
    storage   Optuna and its RDB storage (SQLite, PostgreSQL), without torch
    search    the study: trials trained by genzoo.train, scored, pruned, and the best one kept
    show      ``genzoo tune show``: the best trials, plots and an HTML page

Optuna is the optional extra ``genzoo[tune]``; nothing here imports it until a study is opened.
"""
