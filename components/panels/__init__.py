"""What each page draws, one module per page (the Study page's in panels/study/; Evaluate's results, explanations,
replay and coach in their own modules). Panels use the frame, the figures and the services, and each other.

Nothing is imported here: a page loads only the panels it draws.
"""
