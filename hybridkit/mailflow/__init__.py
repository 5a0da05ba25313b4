"""mailflow"""
