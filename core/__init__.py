"""LSTM Text Lab's experiment engine: plain Python + Keras + scikit-learn, never Streamlit.

Modules are imported where used so that ``import core`` stays cheap (TensorFlow loads only when a model is built).
"""
