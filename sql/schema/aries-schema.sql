-- The schema aries, which holds every object of Aries and nothing else.

CREATE SCHEMA IF NOT EXISTS aries;
