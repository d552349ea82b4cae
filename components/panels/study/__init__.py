"""The Study page, in its sections: reading and choosing a study (reading), a new study (setup), one study (view),
its trials (trials), a lever study's results (levers) and a sweep's (sweep).

Nothing is imported here.
"""
