"""LSTM Text Lab: routing only. The pages are listed in components/frame/navigation.py; each lives under pages/."""

from components.frame.navigation import run_app

# Training and inference run in spawned processes, which import this module as __mp_main__: the guard keeps
# them from starting a second app.
if __name__ == "__main__":
    run_app()
