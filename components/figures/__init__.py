"""Figure builders: plain data in, an Altair chart (or the token-shading HTML) out; no Streamlit, no global state.

Every string that comes from a user's CSV (class names, tokens, run labels, lever titles) travels only as a *data
value* in the chart's dataset. None is ever put into a title, axis title, sort array, scale domain, ``labelExpr`` or
any other Vega expression, so markup-like or expression-like text (``<img onerror=…>``, ``"; alert(1)//``,
``{{x}}``, ``$x$``) is drawn literally. Orders that must follow the caller's order are carried by integer index
columns and ``EncodingSortField``s, never by lists of names. Titles and axis titles are the modules' own words.

Modules: ``common`` (colours, numbers, sorting, grouped bars), ``data_setup``, ``training``, ``evaluation``,
``explanations`` (the faithfulness chart and table, the token heatmap), ``shading`` (tokens shaded over the text, as
escaped HTML) and ``study`` (lever studies and sweeps). Nothing is imported here: Altair loads with the first module
a page uses.
"""
