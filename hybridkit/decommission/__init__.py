"""decommission"""
