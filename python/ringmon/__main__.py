"""python -m ringmon run [options] script.py [args] | -m module [args]

Runs a program unchanged with ringmon on: see ringmon/_run.py and docs/python.md.
"""
# Everything lives in ringmon._run: the program runs in this module's
# namespace (__main__), which is emptied for it, so nothing may be looked up
# here once main() has started.
import ringmon._run

ringmon._run.main()
