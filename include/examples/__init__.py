"""Worked examples of monitoring your own models, built from public data a package ships.

Each example writes, into a folder of your choice, what a user outside this project would bring:
their data, their saved or registered models, their inference logs, and one configuration file
per model. Point ``MES_CONFIG_DIR`` at the example's ``configs/`` folder to monitor them.
"""
